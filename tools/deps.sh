# Sourced by tools/demo and tools/test: installs the Debian 12 packages named
# in $@ that are not installed yet. Needs root, or sudo.

cb_install_missing() {
	missing=""
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		case "$status" in
		*"install ok installed"*) ;;
		*) missing="$missing $pkg" ;;
		esac
	done
	[ -n "$missing" ] || return 0
	echo "carebank: installing$missing" >&2
	if [ "$(id -u)" -eq 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "carebank: need root or sudo to install:$missing" >&2
		return 1
	fi
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}

# What building carebank needs.
CB_BUILD_PACKAGES="build-essential cmake pkg-config liblmdb-dev lmdb-utils
libevent-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler libssl-dev
grpc-proto"

# What the whole test suite needs besides: cmocka, real gRPC clients (Python
# and C++), h2load, and clang for the fuzz targets.
CB_TEST_PACKAGES="libcmocka-dev python3 python3-cryptography python3-grpcio python3-grpc-tools
python3-protobuf libgrpc++-dev libprotobuf-dev protobuf-compiler-grpc protobuf-compiler
nghttp2-client clang libclang-rt-14-dev"
