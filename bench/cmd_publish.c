// SPDX-License-Identifier: MIT
/* dirtybench publish: upload a run set so that compare can use it. */
#include <errno.h>
#include <stdio.h>

#include "dirtybench/common.h"
#include "cmd.h"
#include "cmdopt.h"
#include "../reports/http.h"

enum { OPT_TIMEOUT = 256, OPT_CONNECT };

static const struct cmd_opt opts[] = {
	{ "timeout", OPT_TIMEOUT, "SECONDS", "120", "limit for each transfer" },
	{ "connect-timeout", OPT_CONNECT, "SECONDS", "10",
	  "limit for connecting to the server" },
};

static const struct cmd_doc doc = {
	.synopsis = "dirtybench publish DIR URL",
	.desc =
	"Upload the run set in DIR (written by `dirtybench bench`) to URL, a\n"
	"WebDAV collection (http:// or https://, the server allowing PUT and\n"
	"MOVE, e.g. nginx with dav_methods PUT DELETE MKCOL MOVE and\n"
	"create_full_put_path on) or a file:// directory. Every file goes to a\n"
	"staging collection beside URL, then manifest.json (paths, sizes,\n"
	"hashes) last, then the staging collection is moved over URL: readers\n"
	"see the previous run set or the new one, never a mix. When anything\n"
	"fails the staging collection is deleted and URL left as it was.\n",
	.opts = opts,
	.nopts = DB_ARRAY_SIZE(opts),
	.tail =
	"Examples:\n"
	"  dirtybench publish reports/out/now https://ci.example/dirtybench/ci\n"
	"  dirtybench publish reports/out/now file:///srv/baselines/ci\n"
	"\n"
	"Exit status: 0 published; 2 bad usage or DIR is not a run set;\n"
	"3 the server cannot be reached or refused (URL unchanged).\n",
};

static int on_opt(int key, const char *arg, void *ctx)
{
	struct db_http_opts *o = ctx;
	uint64_t v;

	if (db_parse_u64(arg, 1, 86400, &v)) {
		fprintf(stderr, "dirtybench publish: %s\n", db_strerror());
		return DB_EXIT_USAGE;
	}
	if (key == OPT_TIMEOUT)
		o->timeout_ms = (long)v * 1000;
	else
		o->connect_timeout_ms = (long)v * 1000;
	return 0;
}

int cmd_publish(int argc, char **argv)
{
	struct db_http_opts o = { 0 };
	int rc, err;

	rc = cmd_parse(argc, argv, &doc, on_opt, &o);
	if (rc < 0)
		return rc == CMD_HELP_SHOWN ? 0 : -rc;
	if (rc != argc - 2) {
		fprintf(stderr, "Usage: %s\n", doc.synopsis);
		return DB_EXIT_USAGE;
	}
	err = db_http_publish(argv[rc], argv[rc + 1], &o);
	if (err) {
		fprintf(stderr, "dirtybench publish: %s\n", db_strerror());
		return err == -EINVAL ? DB_EXIT_USAGE :
		       DB_EXIT_RESOURCE;
	}
	printf("published: %s\n", argv[rc + 1]);
	return 0;
}
