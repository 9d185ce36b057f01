// SPDX-License-Identifier: MIT
/* Publishing and fetching run sets: libcurl, WebDAV PUT/MKCOL/MOVE. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "dirtybench/common.h"
#include "base/files.h"
#include "html.h"
#include "http.h"

#define MANIFEST "manifest.json"
#define MANIFEST_MAX (16u << 20)
#define FILE_MAX (1ull << 30)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool db_is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) ||
	       !strncmp(s, "file://", 7);
}

/* ---- one request ------------------------------------------------------------ */

struct sink {
	struct db_buf *buf;	/* response body into memory, or */
	FILE *file;		/* into a file, or neither (discarded) */
	uint64_t got, max;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	s->got += len;
	if (s->got > s->max) {
		s->too_big = true;
		return 0;
	}
	if (s->buf)
		db_buf_putn(s->buf, p, len);
	else if (s->file && fwrite(p, 1, len, s->file) != len)
		return 0;
	return len;
}

struct req {
	const char *method;	/* GET, PUT, MKCOL, MOVE, DELETE */
	const char *url;
	FILE *upload;
	curl_off_t upload_size;
	const char *destination;	/* MOVE */
	struct sink sink;
	long status;		/* HTTP status, 0 for file:// */
};

static int perform(const struct db_http_opts *o, struct req *r)
{
	char err[CURL_ERROR_SIZE] = "", hdr[PATH_MAX + 32];
	struct curl_slist *h = NULL;
	CURLcode rc;
	CURL *c;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc)
		return db_error(-EIO, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	c = curl_easy_init();
	if (!c)
		return db_error(-ENOMEM, "libcurl: cannot create a handle");
	if (!r->sink.max)
		r->sink.max = 1u << 20;
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 o && o->connect_timeout_ms ? o->connect_timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 o && o->timeout_ms ? o->timeout_ms : 120000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->sink);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dirtybench");
	if (r->upload) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, r->upload);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, r->upload_size);
	} else if (strcmp(r->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	if (r->destination) {
		snprintf(hdr, sizeof(hdr), "Destination: %s", r->destination);
		h = curl_slist_append(h, hdr);
		h = curl_slist_append(h, "Overwrite: T");
	}
	if (h)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	r->status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (r->sink.too_big)
		return db_error(-EFBIG, "%s %s: larger than %llu bytes", r->method,
				r->url, (unsigned long long)r->sink.max);
	if (rc != CURLE_OK)
		return db_error(rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
				rc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED :
				rc == CURLE_FILE_COULDNT_READ_FILE ? -ENOENT : -EIO,
				"%s %s: %s", r->method, r->url,
				err[0] ? err : curl_easy_strerror(rc));
	if (r->status >= 300)
		return db_error(r->status == 404 ? -ENOENT : -EIO,
				"%s %s: HTTP %ld", r->method, r->url, r->status);
	return 0;
}

/* ---- URLs and paths --------------------------------------------------------- */

/* base + "/" + each segment of rel escaped. */
static int join_url(char *out, size_t len, const char *base, const char *rel)
{
	char *copy = strdup(rel), *seg, *save = NULL;
	size_t n;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	n = (size_t)snprintf(out, len, "%s", base);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	for (seg = strtok_r(copy, "/", &save); seg && !err;
	     seg = strtok_r(NULL, "/", &save)) {
		char *e = curl_easy_escape(NULL, seg, 0);

		if (!e || n + strlen(e) + 2 >= len)
			err = db_error(-ENAMETOOLONG, "URL too long: %s/%s", base,
				       rel);
		else
			n += (size_t)snprintf(out + n, len - n, "/%s", e);
		curl_free(e);
	}
	free(copy);
	return err;
}

/* A manifest path is relative, plain and inside the run set. */
static bool safe_rel(const char *p)
{
	const char *s;

	if (!*p || *p == '/' || strlen(p) > 400 || strchr(p, '\\'))
		return false;
	for (s = p; *s; s++)
		if ((unsigned char)*s < 0x20)
			return false;
	for (s = p; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL)
		if (*s == '.' || *s == '/' || !*s)
			return false;	/* "..", ".x", "a//b", "a/" */
	return true;
}

static int hash_file(const char *path, uint64_t *bytes, char hex[17])
{
	char *data;
	size_t n;
	int err = db_slurp(path, FILE_MAX, &data, &n);

	if (err)
		return err;
	*bytes = n;
	snprintf(hex, 17, "%016llx", (unsigned long long)db_hash64(data, n));
	free(data);
	return 0;
}

/* ---- fetching ----------------------------------------------------------------- */

static int fetch_file(const struct db_http_opts *o, const char *url,
		      const char *dest, const char *rel, uint64_t bytes,
		      const char *xxh3)
{
	char path[PATH_MAX], file_url[PATH_MAX + 64], hex[17], *slash;
	struct req r = { .method = "GET", .url = file_url };
	uint64_t got;
	int err;

	err = join_url(file_url, sizeof(file_url), url, rel);
	if (!err)
		err = db_pathf(path, sizeof(path), "%s/%s", dest, rel);
	if (err)
		return err;
	slash = strrchr(path, '/');
	*slash = '\0';
	err = db_mkdir_p(path);
	*slash = '/';
	if (err)
		return err;
	r.sink.file = fopen(path, "wb");
	if (!r.sink.file)
		return db_error_errno(-errno, "cannot write %s", path);
	r.sink.max = bytes;
	err = perform(o, &r);
	if (fclose(r.sink.file) && !err)
		err = db_error_errno(-errno, "cannot write %s", path);
	if (err == -EFBIG || err == -ENOENT)
		return db_error(-EBADMSG, "baseline %s: %s is %s than its "
				"manifest says: not a complete run set", url, rel,
				err == -EFBIG ? "larger" : "missing, or shorter");
	if (err)
		return err;
	err = hash_file(path, &got, hex);
	if (err)
		return err;
	if (got != bytes || strcmp(hex, xxh3))
		return db_error(-EBADMSG, "baseline %s: %s has %llu bytes, hash "
				"%s; its manifest says %llu bytes, hash %s: the "
				"run set changed while it was read, or is "
				"damaged", url, rel, (unsigned long long)got, hex,
				(unsigned long long)bytes, xxh3);
	return 0;
}

int db_http_fetch_runset(const char *url, const char *dest,
			 const struct db_http_opts *o)
{
	char murl[PATH_MAX + 64];
	struct db_buf body = { 0 };
	struct req r = { .method = "GET", .url = murl, .sink.buf = &body,
			 .sink.max = MANIFEST_MAX };
	json_error_t je;
	json_t *m = NULL, *f;
	size_t i;
	int err;

	err = join_url(murl, sizeof(murl), url, MANIFEST);
	if (err)
		return err;
	err = perform(o, &r);
	if (err == -ENOENT) {
		err = db_error(-ENOENT, "baseline %s: no %s (HTTP %ld): nothing "
			       "was published there, or publishing did not "
			       "finish", url, MANIFEST, r.status);
		goto out;
	}
	if (err)
		goto out;
	m = json_loadb(body.p ? body.p : "", body.len, 0, &je);
	if (!m || json_integer_value(json_object_get(m, "schema")) != 1 ||
	    !json_is_array(json_object_get(m, "files"))) {
		err = db_error(-EBADMSG, "baseline %s: %s is not a schema 1 "
			       "manifest%s%s", url, MANIFEST, m ? "" : ": ",
			       m ? "" : je.text);
		goto out;
	}
	if (!json_is_true(json_object_get(m, "complete"))) {
		err = db_error(-EBADMSG, "baseline %s: the manifest does not say "
			       "complete: a half-written run set", url);
		goto out;
	}
	json_array_foreach(json_object_get(m, "files"), i, f) {
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *h = json_string_value(json_object_get(f, "xxh3"));
		json_t *b = json_object_get(f, "bytes");

		if (!p || !h || !json_is_integer(b) || json_integer_value(b) < 0 ||
		    !safe_rel(p) || !strcmp(p, MANIFEST)) {
			err = db_error(-EBADMSG, "baseline %s: manifest entry %zu "
				       "is not a plain relative path with bytes "
				       "and xxh3", url, i);
			goto out;
		}
		err = fetch_file(o, url, dest, p,
				 (uint64_t)json_integer_value(b), h);
		if (err)
			goto out;
	}
out:
	json_decref(m);
	db_buf_free(&body);
	return err;
}

/* ---- publishing ---------------------------------------------------------------- */

struct publisher {
	const struct db_http_opts *o;
	const char *dir;
	json_t *files;
	char staging[PATH_MAX];	/* URL, or a local path for file:// */
	bool local;
	int err;
};

static int put_file(struct publisher *p, const char *rel, const char *src)
{
	char url[PATH_MAX + 64];
	struct req r = { .method = "PUT", .url = url };
	struct stat st;
	int err;

	err = join_url(url, sizeof(url), p->staging, rel);
	if (err)
		return err;
	r.upload = fopen(src, "rb");
	if (!r.upload || fstat(fileno(r.upload), &st)) {
		err = db_error_errno(-errno, "cannot read %s", src);
		if (r.upload)
			fclose(r.upload);
		return err;
	}
	r.upload_size = st.st_size;
	err = perform(p->o, &r);
	if (err && r.status == 409) {
		/* a plain WebDAV server: make the collections, then again */
		char col[PATH_MAX + 64], *part = strdup(rel), *s;

		for (s = part ? strchr(part, '/') : NULL; s; s = strchr(s + 1, '/')) {
			struct req mk = { .method = "MKCOL", .url = col };

			*s = '\0';
			if (!join_url(col, sizeof(col), p->staging, part))
				perform(p->o, &mk);
			*s = '/';
		}
		free(part);
		rewind(r.upload);
		err = perform(p->o, &r);
	}
	fclose(r.upload);
	return err;
}

static int copy_local(const char *src, const char *dst)
{
	char *data, *slash, dir[PATH_MAX];
	size_t n;
	int err = db_slurp(src, FILE_MAX, &data, &n);

	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		err = db_mkdir_p(dir);
	}
	if (!err)
		err = db_write_atomic(dst, data, n);
	free(data);
	return err;
}

static int publish_one(const char *root, const char *rel, void *arg)
{
	struct publisher *p = arg;
	char src[PATH_MAX], dst[PATH_MAX], hex[17];
	uint64_t bytes;
	int err;

	if (!strcmp(rel, MANIFEST) || strstr(rel, ".tmp."))
		return 0;
	err = db_pathf(src, sizeof(src), "%s/%s", root, rel);
	if (!err)
		err = hash_file(src, &bytes, hex);
	if (err)
		return err;
	if (!p->local)
		err = put_file(p, rel, src);
	else if (!(err = db_pathf(dst, sizeof(dst), "%s/%s", p->staging, rel)))
		err = copy_local(src, dst);
	if (err)
		return err;
	json_array_append_new(p->files, json_pack("{s:s, s:I, s:s}", "path", rel,
						  "bytes", (json_int_t)bytes,
						  "xxh3", hex));
	return 0;
}

/* A file:// URL's path, decoded; -EINVAL for another host. */
static int file_path(const char *url, char *out, size_t len)
{
	const char *p = url + 7;
	char *dec;
	int n;

	if (!strncmp(p, "localhost/", 10))
		p += 9;
	if (*p != '/')
		return db_error(-EINVAL, "%s: a file:// URL names a local path",
				url);
	dec = curl_easy_unescape(NULL, p, 0, &n);
	if (!dec)
		return -ENOMEM;
	snprintf(out, len, "%s", dec);
	while (strlen(out) > 1 && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = '\0';
	curl_free(dec);
	return 0;
}

/* Put the staged run set in place of the old one, all at once. */
static int finish_local(struct publisher *p, const char *target)
{
	struct stat st;

	if (stat(target, &st)) {
		if (rename(p->staging, target))
			return db_error_errno(-errno, "cannot rename %s to %s",
					      p->staging, target);
		return 0;
	}
	if (renameat2(AT_FDCWD, p->staging, AT_FDCWD, target, RENAME_EXCHANGE))
		return db_error_errno(-errno, "cannot exchange %s and %s",
				      p->staging, target);
	return db_rm_rf(p->staging);	/* now the old run set */
}

int db_http_publish(const char *dir, const char *url,
		    const struct db_http_opts *o)
{
	const char *hint = "";
	struct publisher p = { .o = o, .dir = dir };
	char target[PATH_MAX], mpath[PATH_MAX], dest[PATH_MAX + 8];
	json_t *m;
	char *text = NULL, when[32];
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;
	int err;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return db_error(-EINVAL, "%s: not a directory", dir);
	if (!db_is_url(url))
		return db_error(-EINVAL, "%s: not an http://, https:// or file:// "
				"URL", url);
	snprintf(mpath, sizeof(mpath), "%s/bench.json", dir);
	if (stat(mpath, &st))
		return db_error(-EINVAL, "%s: no bench.json: not a run set of "
				"dirtybench bench", dir);
	p.local = !strncmp(url, "file://", 7);
	if (p.local) {
		err = file_path(url, target, sizeof(target));
		if (err)
			return err;
	} else {
		snprintf(target, sizeof(target), "%s", url);
		while (strlen(target) > 8 && target[strlen(target) - 1] == '/')
			target[strlen(target) - 1] = '\0';
	}
	if ((size_t)snprintf(p.staging, sizeof(p.staging), "%s.staging-%d-%ld",
			     target, (int)getpid(), (long)now) >= sizeof(p.staging))
		return db_error(-ENAMETOOLONG, "%s: URL too long", url);
	if (p.local) {
		err = db_mkdir_p(p.staging);
		if (err)
			return err;
	}
	p.files = json_array();
	err = db_walk(dir, NULL, publish_one, &p);
	if (!err) {
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		m = json_pack("{s:i, s:s, s:b, s:s, s:O}", "schema", 1, "kind",
			      "dirtybench-runset", "complete", 1, "published_at",
			      when, "files", p.files);
		text = json_dumps(m, JSON_INDENT(1));
		json_decref(m);
		if (!text)
			err = db_error(-ENOMEM, "manifest: out of memory");
	}
	/* the manifest last: a reader never takes the staging for complete */
	if (!err && p.local) {
		err = db_pathf(mpath, sizeof(mpath), "%s/%s", p.staging, MANIFEST);
		if (!err)
			err = db_write_atomic(mpath, text, strlen(text));
		if (!err)
			err = finish_local(&p, target);
	} else if (!err) {
		char tmp[PATH_MAX];
		struct req mv = { .method = "MOVE" };

		err = db_mkdtemp(tmp, sizeof(tmp), "manifest");
		if (!err) {
			err = db_pathf(mpath, sizeof(mpath), "%s/%s", tmp, MANIFEST);
			if (!err)
				err = db_write_atomic(mpath, text, strlen(text));
			if (!err)
				err = put_file(&p, MANIFEST, mpath);
			db_rm_rf(tmp);
		}
		if (!err) {
			char src[PATH_MAX + 8];

			snprintf(src, sizeof(src), "%s/", p.staging);
			snprintf(dest, sizeof(dest), "%s/", target);
			mv.url = src;
			mv.destination = dest;
			err = perform(o, &mv);
			if (err)
				hint = " (cannot move the uploaded run set "
				       "into place: does the server allow "
				       "WebDAV MOVE?)";
		}
	}
	if (err) {
		/* leave nothing half-written: drop the staging collection */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", db_strerror());
		if (p.local) {
			db_rm_rf(p.staging);
		} else {
			char src[PATH_MAX + 8];
			struct req del = { .method = "DELETE", .url = src };

			snprintf(src, sizeof(src), "%s/", p.staging);
			perform(o, &del);
		}
		db_error(err, "publish %s: %s%s (the run set at the URL is "
			 "unchanged)", url, msg, hint);
	}
	free(text);
	json_decref(p.files);
	return err;
}
