"""Shared by the Python test clients: flags, stub loading and the channel.

The generated modules live in package grpc.* beside the installed grpc
package, so load_stubs extends grpc's search path rather than shadowing it.
"""

import argparse
import sys


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--gen_dir", required=True)
    p.add_argument("--server_host", default="127.0.0.1")
    p.add_argument("--server_port", type=int, required=True)
    p.add_argument("--server_host_override", default="")
    p.add_argument("--test_case", default="")
    p.add_argument("--use_tls", default="false")
    p.add_argument("--ca_file", default="")
    p.add_argument("--cert_file", default="")
    p.add_argument("--key_file", default="")
    return p.parse_args()


def load_stubs(gen_dir):
    """Makes the generated grpc.* modules in gen_dir importable."""
    sys.path.insert(0, gen_dir)
    import grpc
    grpc.__path__.append(gen_dir + "/grpc")
    return grpc


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(grpc, args):
    """An insecure or TLS channel as the flags say."""
    target = "%s:%d" % (args.server_host, args.server_port)
    if args.use_tls != "true":
        return grpc.insecure_channel(target)
    key = cert = None
    if args.cert_file:
        key, cert = read(args.key_file), read(args.cert_file)
    creds = grpc.ssl_channel_credentials(root_certificates=read(args.ca_file),
                                         private_key=key,
                                         certificate_chain=cert)
    opts = []
    if args.server_host_override:
        opts.append(("grpc.ssl_target_name_override",
                     args.server_host_override))
    return grpc.secure_channel(target, creds, options=opts)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(name, fn):
    """Runs fn, prints PASS or FAIL, returns the exit status."""
    try:
        fn()
    except Failure as e:
        print("FAIL %s: %s" % (name, e))
        return 1
    except Exception as e:  # an RpcError or a broken response
        print("FAIL %s: %r" % (name, e))
        return 1
    print("PASS %s" % name)
    return 0


def main(description, name, test):
    """The whole of a test client: flags, stubs, channel, test(grpc, ch)."""
    args = parse_args(description)
    grpc = load_stubs(args.gen_dir)
    with channel(grpc, args) as ch:
        return run(name, lambda: test(grpc, ch))
