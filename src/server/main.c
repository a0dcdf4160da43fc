/*
 * carebankd: the carebank server. One program, five commands: init a
 * centre, serve, check a configuration, back up, replay. Exit status 0 on
 * success, 1 on failure, 2 on bad usage (3 when serving stopped after a
 * storage failure).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "srv.h"

static const char usage_text[] =
    "usage: carebankd init --data DIR --centre ID [--origin ORIGIN]\n"
    "       carebankd serve [--config FILE] [--data DIR] [--listen HOST:PORT]...\n"
    "                 [--tls-cert FILE --tls-key FILE [--client-ca FILE]]\n"
    "                 [--metrics HOST:PORT] [--workers N] [--max-batch N]\n"
    "                 [--port-file FILE]\n"
    "       carebankd check-config [--config FILE] [serve options]\n"
    "       carebankd backup --data DIR OUTDIR\n"
    "       carebankd replay --data DIR --verify [--centre ID]\n"
    "\n"
    "init     creates a centre: its log key and first coordinator key (in\n"
    "         DIR/keys, mode 0600) and its first entry; prints the log's\n"
    "         verifier key and writes it to DIR/ID.vkey. Refuses an existing\n"
    "         centre. The origin names the log for life; without --origin\n"
    "         it is carebank/ID/ and 8 hex digits of the log key's hash.\n"
    "serve    serves carebank.v1 over gRPC. Cleartext only on loopback;\n"
    "         other addresses need --tls-cert and --tls-key. With\n"
    "         --client-ca, clients must present a certificate it signed.\n"
    "         SIGTERM drains; SIGHUP loads the TLS files again.\n"
    "         The config file holds the same settings as key = value lines\n"
    "         (data, listen, tls-cert, tls-key, client-ca, metrics, workers,\n"
    "         max-batch, time-window-ms, drain-ms, map-size-mb,\n"
    "         max-message-bytes, buffers-mb, port-file); flags win.\n"
    "check-config  checks the settings, the TLS files and the data\n"
    "         directory (every centre, its log key, and that the store\n"
    "         holds the checkpoint last published, DIR/ID.signed), and\n"
    "         says \"configuration OK\".\n"
    "backup   copies the store, hot and consistent, into a new OUTDIR.\n"
    "         A store put back from it is older than DIR/ID.signed and\n"
    "         is not served: it would sign a second history.\n"
    "replay   verifies every centre's log and rebuilds its views from it,\n"
    "         comparing them with the live ones, and says how far the\n"
    "         calls were signed from their entries' server times.\n";

/* usage prints the synopsis and exits with code. */
static void __attribute__((noreturn))
usage(int code)
{
	fputs(usage_text, code ? stderr : stdout);
	exit(code);
}

enum {
	OPT_DATA = 256, OPT_LISTEN, OPT_TLS_CERT, OPT_TLS_KEY, OPT_CLIENT_CA,
	OPT_METRICS, OPT_WORKERS, OPT_MAX_BATCH, OPT_CONFIG, OPT_CENTRE,
	OPT_ORIGIN, OPT_VERIFY, OPT_PORT_FILE, OPT_HELP,
};

static const struct option options[] = {
	{"data", required_argument, NULL, OPT_DATA},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key", required_argument, NULL, OPT_TLS_KEY},
	{"client-ca", required_argument, NULL, OPT_CLIENT_CA},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"max-batch", required_argument, NULL, OPT_MAX_BATCH},
	{"port-file", required_argument, NULL, OPT_PORT_FILE},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"centre", required_argument, NULL, OPT_CENTRE},
	{"origin", required_argument, NULL, OPT_ORIGIN},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Flags that are configuration settings, by option id. */
static const char *const setting[] = {
	[OPT_DATA - 256] = "data",
	[OPT_LISTEN - 256] = "listen",
	[OPT_TLS_CERT - 256] = "tls-cert",
	[OPT_TLS_KEY - 256] = "tls-key",
	[OPT_CLIENT_CA - 256] = "client-ca",
	[OPT_METRICS - 256] = "metrics",
	[OPT_WORKERS - 256] = "workers",
	[OPT_MAX_BATCH - 256] = "max-batch",
	[OPT_PORT_FILE - 256] = "port-file",
};

int
main(int argc, char **argv)
{
	struct srv_config cfg;
	const char *cmd, *config = NULL, *centre = NULL, *origin = NULL;
	char *flags[64][2];
	int nflags = 0, verify = 0, ch, status;
	char err[1024];

	if (argc < 2)
		usage(2);
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0)
		usage(0);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_CENTRE:
			centre = optarg;
			break;
		case OPT_ORIGIN:
			origin = optarg;
			break;
		case OPT_VERIFY:
			verify = 1;
			break;
		case OPT_HELP:
		case 'h':
			usage(0);
		default:
			if (ch < 256 || ch - 256 >= (int)(sizeof(setting) /
							  sizeof(setting[0])) ||
			    setting[ch - 256] == NULL || nflags == 64)
				usage(2);
			flags[nflags][0] = (char *)(uintptr_t)setting[ch - 256];
			flags[nflags++][1] = optarg;
		}
	}
	srv_config_defaults(&cfg);
	if (config != NULL && srv_config_file(&cfg, config, err,
				  sizeof(err)) != 0) {
		fprintf(stderr, "carebankd: %s\n", err);
		srv_config_free(&cfg);
		return 1;
	}
	/* Flags win over the file; --listen replaces the file's addresses. */
	for (int i = 0; i < nflags; i++) {
		if (strcmp(flags[i][0], "listen") == 0) {
			for (int k = 0; k < cfg.nlisten; k++)
				free(cfg.listen[k]);
			cfg.nlisten = 0;
			break;
		}
	}
	for (int i = 0; i < nflags; i++) {
		if (srv_config_flag(&cfg, flags[i][0], flags[i][1], err,
			sizeof(err)) != 0) {
			fprintf(stderr, "carebankd: %s\n", err);
			srv_config_free(&cfg);
			return 2;
		}
	}
	if (strcmp(cmd, "init") == 0) {
		if (cfg.data == NULL || centre == NULL || optind != argc)
			usage(2);
		status = srv_init(cfg.data, centre, origin);
	} else if (strcmp(cmd, "serve") == 0 ||
		   strcmp(cmd, "check-config") == 0) {
		if (optind != argc)
			usage(2);
		if (srv_config_check(&cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "carebankd: %s\n", err);
			status = 1;
		} else if (strcmp(cmd, "check-config") == 0) {
			if (srv_check_data(cfg.data, stdout, err,
				sizeof(err)) != 0) {
				fprintf(stderr, "carebankd: %s\n", err);
				status = 1;
			} else {
				printf("configuration OK\n");
				status = 0;
			}
		} else {
			status = srv_serve(&cfg);
		}
	} else if (strcmp(cmd, "backup") == 0) {
		if (cfg.data == NULL || optind != argc - 1)
			usage(2);
		status = srv_backup(cfg.data, argv[optind]);
	} else if (strcmp(cmd, "replay") == 0) {
		if (cfg.data == NULL || !verify || optind != argc)
			usage(2);
		status = srv_replay(cfg.data, centre);
	} else {
		fprintf(stderr, "carebankd: unknown command \"%s\"\n", cmd);
		usage(2);
	}
	srv_config_free(&cfg);
	return status;
}
