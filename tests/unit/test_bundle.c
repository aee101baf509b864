/* Unit tests for the bundle format: layout keys, and the manifest validator
 * refusing ../ keys, bad hex, a wrong case key, a broken custody chain and
 * oversized input, while accepting a well-formed manifest. */
#include <jansson.h>
#include <stdlib.h>

#include "bundle.h"
#include "custody.h"
#include "store.h"
#include "t.h"
#include "target.h"

#define NUMBER "XX检公益立〔2023〕15号"
#define SHA "0ed4f59e7d7706d04e02d4c93db4959a0f4352c642363edfd36fd073e77029fa"
#define DEV "a82eedf568a4034bffc1a3b91fc98f03"
#define BID "20261129-091827-a82eedf5-caf0e860"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static char case_key[64];

/* A well-formed manifest as a JSON object; tests break one thing each. */
static json_t *good(void)
{
	char key[BUNDLE_BLOB_KEY_LEN], hash[65];
	bundle_blob_key(SHA, key);
	char *ev = custody_canonical(1, "2026-11-29T09:18:00Z", "tester", "case open", NUMBER, NULL,
				     NULL, DEV, ZERO);
	if (custody_hash(ZERO, ev, strlen(ev), hash))
		abort();
	json_t *m = json_pack(
		"{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s,"
		" s:{s:s, s:s, s:s},"
		" s:[{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}],"
		" s:[], s:[],"
		" s:{s:[{s:i, s:s, s:s, s:s}], s:{s:i, s:s}}}",
		"format", BUNDLE_FORMAT, "format_version", BUNDLE_FORMAT_VERSION, "bundle_id", BID,
		"created_at", "2026-11-29T09:18:27Z", "device_id", DEV, "public_key_id", "D4B0B250363132C1",
		"public_key", "RWTBMjE2ULKw1LVLByIzNB3C9pgm4qbt4oxOm7oMo9FX2pbYO2Fl/RIM", "case_key",
		case_key, "case", "number", NUMBER, "title", "river", "opened_at", "2026-11-29T09:00:00Z",
		"items", "sha256", SHA, "size", 100000, "blob", key, "kind", "photo", "original_name",
		"DJI_0001.JPG", "original_path", "DCIM/100MEDIA/DJI_0001.JPG", "ingested_at",
		"2026-11-29T09:10:00Z", "notes", "text", "outfall pipe", "created_at",
		"2026-11-29T09:11:00Z", "readings", "sites", "custody", "events", "seq", 1, "event", ev,
		"prev_hash", ZERO, "hash", hash, "head", "seq", 1, "hash", hash);
	free(ev);
	if (!m)
		abort();
	return m;
}

/* Parses m (consumed); returns the result code, err gets the reason. */
static int parse(json_t *m, char *err, size_t errlen)
{
	char *text = json_dumps(m, 0);
	struct bundle_manifest *bm = NULL;
	int rc = bundle_manifest_parse(text, strlen(text), case_key, BID, &bm, err, errlen);
	bundle_manifest_free(bm);
	free(text);
	json_decref(m);
	return rc;
}

static json_t *item0(json_t *m)
{
	return json_array_get(json_object_get(m, "items"), 0);
}

static void test_keys(void)
{
	char key[BUNDLE_BLOB_KEY_LEN];
	bundle_blob_key(SHA, key);
	CHECK_STR(key, "blobs/sha256/0e/d4/" SHA);
	CHECK(target_key_valid(key));
	CHECK(!target_key_valid("blobs/../etc/passwd"));
	CHECK(!target_key_valid("/etc/passwd"));
	CHECK(!target_key_valid("a//b"));
	CHECK(!target_key_valid("a/./b"));
	CHECK(!target_key_valid("a/b c"));
	CHECK(!target_key_valid("a/%2e%2e/b"));
	CHECK(target_key_valid("cases/k/bundles/b/COMMITTED"));
	CHECK(bundle_id_valid(BID));
	CHECK(!bundle_id_valid(".."));
	CHECK(!bundle_id_valid("a..b"));
	CHECK(!bundle_id_valid("-x"));
	CHECK(!bundle_id_valid("A"));
	CHECK(bundle_case_key_valid(case_key));
	char id[64];
	bundle_new_id(1795943907.0, DEV, id);
	CHECK(bundle_id_valid(id));
	CHECK(strncmp(id, "20261129-", 9) == 0);
}

static void test_good_manifest(void)
{
	char err[512] = "";
	json_t *m = good();
	char *text = json_dumps(m, 0);
	struct bundle_manifest *bm = NULL;
	int rc = bundle_manifest_parse(text, strlen(text), case_key, BID, &bm, err, sizeof err);
	if (rc)
		printf("# %s\n", err);
	CHECK(rc == 0);
	CHECK(bm && bm->n_blobs == 1 && bm->blobs[0].size == 100000);
	CHECK(bm && strcmp(bm->case_number, NUMBER) == 0);
	bundle_manifest_free(bm);
	free(text);
	json_decref(m);
}

static void test_refusals(void)
{
	char err[512];
	json_t *m;

	m = good();
	json_object_set_new(item0(m), "blob", json_string("blobs/sha256/../../../../etc/passwd"));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "not the layout's key") != NULL);

	m = good(); /* uppercase hex */
	json_object_set_new(item0(m), "sha256", json_string("0ED4F59E7D7706D04E02D4C93DB4959A0F4352C642363EDFD36FD073E77029FA"));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "64 lowercase hex") != NULL);

	m = good(); /* 63 digits */
	json_object_set_new(item0(m), "sha256", json_string(&SHA[1]));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);

	m = good();
	json_object_set_new(item0(m), "size", json_integer(-5));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);

	/* a case number with a control character: refused as such, before
	 * its key is compared (a terminal would obey it in every message) */
	static const char *const ctl[] = {"XX\x1b[2J", "XX\x7f", "XX\xc2\x9b" "2J"};
	for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++) {
		m = good();
		json_object_set_new(json_object_get(m, "case"), "number", json_string_nocheck(ctl[i]));
		CHECK(parse(m, err, sizeof err) == EV_EINVAL);
		CHECK(strstr(err, "control characters") != NULL);
	}

	m = good(); /* a case number that does not give the case key */
	json_object_set_new(json_object_get(m, "case"), "number", json_string("other"));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);

	m = good();
	json_object_set_new(m, "bundle_id", json_string("../x"));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);

	m = good();
	json_object_set_new(m, "format_version", json_integer(2));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "version 2") != NULL);

	/* the optional track: fixes well formed are taken, others refuse */
	json_t *fix = json_pack("{s:f, s:s, s:f, s:f, s:i, s:s}", "t", 1714611600.0, "time",
				"2024-05-02T01:00:00Z", "lat", 47.3, "lon", 123.7, "mode", 3, "source",
				"gpsd:127.0.0.1:2947");
	m = good();
	json_object_set_new(m, "fixes", json_pack("[o]", json_deep_copy(fix)));
	CHECK(parse(m, err, sizeof err) == 0);
	m = good();
	json_object_set_new(m, "fixes", json_pack("[o]", json_deep_copy(fix)));
	json_object_set_new(json_array_get(json_object_get(m, "fixes"), 0), "lat", json_real(91));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "fix 1") != NULL);
	m = good();
	json_object_set_new(m, "fixes", json_pack("[o]", json_deep_copy(fix)));
	json_object_del(json_array_get(json_object_get(m, "fixes"), 0), "source");
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "'source' is missing") != NULL);
	m = good();
	json_object_set_new(m, "fixes", json_string("not an array"));
	CHECK(parse(m, err, sizeof err) == EV_ELIMIT);
	json_decref(fix);

	m = good(); /* custody event text altered */
	json_t *ev = json_array_get(json_object_get(json_object_get(m, "custody"), "events"), 0);
	json_object_set_new(ev, "event", json_string("{\"seq\":1}"));
	CHECK(parse(m, err, sizeof err) == EV_ECORRUPT);

	m = good(); /* wrong type */
	json_object_set_new(item0(m), "original_name", json_integer(5));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);

	m = good(); /* the same blob twice */
	json_array_append(json_object_get(m, "items"), item0(m));
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);

	/* oversized: refused by size before parsing */
	size_t n = BUNDLE_MANIFEST_MAX + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	struct bundle_manifest *bm = NULL;
	CHECK(bundle_manifest_parse(big, n, case_key, BID, &bm, err, sizeof err) == EV_ELIMIT);
	CHECK(bm == NULL);
	free(big);

	/* not JSON, truncated JSON, deep nesting */
	CHECK(bundle_manifest_parse("{", 1, case_key, BID, &bm, err, sizeof err) == EV_EINVAL);
	char deep[4100];
	memset(deep, '[', sizeof deep);
	CHECK(bundle_manifest_parse(deep, sizeof deep, case_key, BID, &bm, err, sizeof err) == EV_EINVAL);
}

/* The bundle a manifest names as the one before it: optional, and when
 * given, the id of another bundle. */
static void test_previous(void)
{
	char err[512] = "";
	json_t *m = good();
	json_object_set_new(m, "previous", json_string("20261129-081500-a82eedf5-0a1b2c3d"));
	char *text = json_dumps(m, 0);
	struct bundle_manifest *bm = NULL;
	CHECK(bundle_manifest_parse(text, strlen(text), case_key, BID, &bm, err, sizeof err) == 0);
	CHECK(bm && bm->previous && !strcmp(bm->previous, "20261129-081500-a82eedf5-0a1b2c3d"));
	bundle_manifest_free(bm);
	free(text);
	json_decref(m);

	m = good();
	CHECK(parse(json_incref(m), err, sizeof err) == 0);
	json_object_set_new(m, "previous", json_string("../../other-case"));
	CHECK(parse(json_incref(m), err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "previous is not the id of another bundle") != NULL);
	json_object_set_new(m, "previous", json_string(BID));
	CHECK(parse(json_incref(m), err, sizeof err) == EV_EINVAL);
	json_object_set_new(m, "previous", json_integer(7));
	CHECK(parse(json_incref(m), err, sizeof err) == EV_EINVAL);
	json_object_set_new(m, "previous", json_null());
	CHECK(parse(m, err, sizeof err) == EV_EINVAL);
}

int main(void)
{
	store_case_key(NUMBER, case_key);
	RUN(test_keys);
	RUN(test_good_manifest);
	RUN(test_refusals);
	RUN(test_previous);
	T_EXIT();
}
