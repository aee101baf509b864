/* Unit tests for the reading of an S3 ListObjectsV2 answer: answers
 * written here by hand, as no real server would send them (an entry with
 * no key, one longer than any buffer, a key with an entity inside an
 * entity), each of which must be read whole or refused with a message,
 * never passed over in part. */
#include <stdlib.h>

#include "buf.h"
#include "target_s3_internal.h"
#include "t.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult " \
	     "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>evidence</Name>" \
	     "<Prefix>field1/cases/K/bundles/</Prefix><MaxKeys>1000</MaxKeys>"
#define TAIL "</ListBucketResult>"
#define NOT_TRUNCATED "<IsTruncated>false</IsTruncated>"
#define ENTRY(k, size) "<Contents><Key>" k "</Key><LastModified>2026-11-30T09:00:00.000Z" \
		       "</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>" \
		       "<Size>" size "</Size><StorageClass>STANDARD</StorageClass></Contents>"
#define BK "field1/cases/K/bundles/"

struct seen {
	char *key[16];
	uint64_t size[16];
	int foreign[16];
	size_t n;
};

static int collect(void *ctx, const struct target_entry *e)
{
	struct seen *s = ctx;
	if (s->n < 16) {
		s->key[s->n] = strdup(e->key);
		s->size[s->n] = e->size;
		s->foreign[s->n] = e->foreign;
	}
	s->n++;
	return 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n && i < 16; i++)
		free(s->key[i]);
	memset(s, 0, sizeof *s);
}

static const struct s3_list_page LP = {.target = "s3://evidence/field1", .tprefix = "field1/",
				       .prefix = "cases/K/bundles/", .max_keys = 100};

/* Reads xml as one page; the entries go to s, the token to *next. */
static const char *asked; /* the token a page is asked with */

static int page(const char *xml, size_t n, struct seen *s, char **next, char *err, size_t errlen)
{
	size_t count = 0;
	err[0] = '\0';
	return s3_list_page(xml, n, &LP, asked, &count, collect, s, next, err, errlen);
}

static int page_str(const char *xml, struct seen *s, char **next, char *err, size_t errlen)
{
	return page(xml, strlen(xml), s, next, err, errlen);
}

static void test_list_plain(void)
{
	struct seen s = {0};
	char err[512], *next = (char *)"x";
	int rc = page_str(HEAD NOT_TRUNCATED ENTRY(BK "B1/COMMITTED", "0")
			  ENTRY(BK "B1 (1)/manifest.json", "812") TAIL,
			  &s, &next, err, sizeof err);
	CHECK(rc == 0);
	CHECK(next == NULL);
	CHECK(s.n == 2);
	if (s.n == 2) {
		CHECK_STR(s.key[0], "cases/K/bundles/B1/COMMITTED");
		CHECK(!s.foreign[0] && s.size[0] == 0);
		CHECK_STR(s.key[1], "cases/K/bundles/B1 (1)/manifest.json");
		CHECK(s.foreign[1] && s.size[1] == 812);
	}
	seen_free(&s);
	/* more follow: the token, decoded */
	rc = page_str(HEAD "<IsTruncated>true</IsTruncated>" ENTRY(BK "B1/COMMITTED", "0")
		      "<NextContinuationToken>1~a&amp;b</NextContinuationToken>" TAIL,
		      &s, &next, err, sizeof err);
	CHECK(rc == 0);
	CHECK_STR(next, "1~a&b");
	CHECK(s.n == 1);
	free(next);
	seen_free(&s);
	/* an empty listing */
	rc = page_str(HEAD NOT_TRUNCATED "<KeyCount>0</KeyCount>" TAIL, &s, &next, err, sizeof err);
	CHECK(rc == 0 && s.n == 0 && next == NULL);
}

/* An entry with no <Key>: the listing is refused, naming the target and
 * showing the entry; it is never passed over. */
static void test_list_entry_without_key(void)
{
	struct seen s = {0};
	char err[512], *next = NULL;
	int rc = page_str(HEAD NOT_TRUNCATED ENTRY(BK "B1/COMMITTED", "0")
			  "<Contents><Size>5</Size><ETag>&quot;e&quot;</ETag></Contents>"
			  ENTRY(BK "B2/COMMITTED", "0") TAIL,
			  &s, &next, err, sizeof err);
	CHECK(rc == EV_ERR);
	CHECK(strstr(err, "s3://evidence/field1: the server's listing of cases/K/bundles/ is "
			  "malformed, an entry has no key: <Contents><Size>5</Size><ETag>&quot;e"
			  "&quot;</ETag></Contents>; a listing that cannot be read whole is not "
			  "used") == err);
	CHECK(next == NULL);
	seen_free(&s);
	free(next);
}

/* An entry longer than any buffer, and a key longer than S3 allows: both
 * read whole, with the entries after them. */
static void test_list_long_entry(void)
{
	struct buf x;
	struct seen s = {0};
	char err[512], *next = NULL;
	buf_init(&x, 0);
	CHECK(buf_puts(&x, HEAD NOT_TRUNCATED ENTRY(BK "B1/COMMITTED", "0")) == 0);
	/* 6,000 bytes of an owner's name, 5 bytes each on the wire */
	CHECK(buf_puts(&x, "<Contents><Key>" BK "B2/COMMITTED</Key><Owner><DisplayName>") == 0);
	for (int i = 0; i < 6000; i++)
		CHECK(buf_puts(&x, "&amp;") == 0);
	CHECK(buf_puts(&x, "</DisplayName></Owner><Size>0</Size></Contents>") == 0);
	/* a key of 3,000 bytes: no key of the layout, so named as foreign */
	CHECK(buf_puts(&x, "<Contents><Key>" BK) == 0);
	for (int i = 0; i < 3000; i++)
		CHECK(buf_puts(&x, "a") == 0);
	CHECK(buf_puts(&x, "</Key><Size>7</Size></Contents>" ENTRY(BK "B3/COMMITTED", "0") TAIL) ==
	      0);
	int rc = page(x.data, x.len, &s, &next, err, sizeof err);
	CHECK(rc == 0);
	CHECK(s.n == 4);
	if (s.n == 4) {
		CHECK_STR(s.key[0], "cases/K/bundles/B1/COMMITTED");
		CHECK_STR(s.key[1], "cases/K/bundles/B2/COMMITTED");
		CHECK(!s.foreign[1]);
		CHECK(strlen(s.key[2]) == strlen("cases/K/bundles/") + 3000);
		CHECK(s.foreign[2] && s.size[2] == 7);
		CHECK_STR(s.key[3], "cases/K/bundles/B3/COMMITTED");
	}
	seen_free(&s);
	free(next);
	buf_free(&x);
}

/* Entities are decoded once: "&amp;amp;" on the wire is the name "&amp;",
 * and an escaped "<Key>" in another element is text, not a key. */
static void test_list_decoded_once(void)
{
	struct seen s = {0};
	char err[512], *next = NULL;
	int rc = page_str(HEAD NOT_TRUNCATED ENTRY(BK "x&amp;amp;y &lt;z&gt;", "3")
			  "<Contents><Owner><DisplayName>&lt;Key&gt;" BK "B9/COMMITTED&lt;/Key&gt;"
			  "</DisplayName></Owner><Key>" BK "B1/notes.txt</Key><Size>4</Size>"
			  "</Contents>" TAIL,
			  &s, &next, err, sizeof err);
	CHECK(rc == 0);
	CHECK(s.n == 2);
	if (s.n == 2) {
		CHECK_STR(s.key[0], "cases/K/bundles/x&amp;y <z>");
		CHECK(s.foreign[0] && s.size[0] == 3);
		CHECK_STR(s.key[1], "cases/K/bundles/B1/notes.txt");
		CHECK(s.size[1] == 4);
	}
	seen_free(&s);
	free(next);
}

/* Other answers that cannot be read whole: refused, each saying why. */
static void test_list_malformed(void)
{
	static const struct {
		const char *xml;
		const char *says;
	} cases[] = {
		{"<html><body>Welcome to the hotel's network</body></html>",
		 "is malformed, it is no ListBucketResult;"},
		{HEAD NOT_TRUNCATED ENTRY(BK "B1/COMMITTED", "0") "<Contents><Key>" BK "B2/COMM",
		 "is malformed, an entry is not closed: <Contents><Key>field1/cases/K/bundles/"
		 "B2/COMM...;"},
		{HEAD NOT_TRUNCATED "<Contents><Key>" BK "B1/COMMITTED</Key><Key>" BK
		 "B2/COMMITTED</Key></Contents>" TAIL,
		 "is malformed, an entry has two keys: <Contents><Key>"},
		{HEAD NOT_TRUNCATED ENTRY("field2/cases/K/bundles/B1/COMMITTED", "0") TAIL,
		 "is malformed, it holds a key outside what was asked for: <Contents><Key>field2/"},
		{HEAD NOT_TRUNCATED ENTRY("field1/cases/L/bundles/B1/COMMITTED", "0") TAIL,
		 "is malformed, it holds a key outside what was asked for"},
		{HEAD "<IsTruncated>true</IsTruncated>" ENTRY(BK "B1/COMMITTED", "0") TAIL,
		 "is malformed, it says more follows but gives no continuation token;"},
		{HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken></NextContinuationToken>"
		 TAIL,
		 "is malformed, it says more follows but gives no continuation token;"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct seen s = {0};
		char err[512], *next = NULL;
		int rc = page_str(cases[i].xml, &s, &next, err, sizeof err);
		static const char start[] =
			"s3://evidence/field1: the server's listing of cases/K/bundles/ is malformed, ";
		if (rc != EV_ERR || !strstr(err, cases[i].says) ||
		    strncmp(err, start, sizeof start - 1) != 0 ||
		    !strstr(err, "; a listing that cannot be read whole is not used")) {
			printf("# case %zu: rc %d: %s\n", i, rc, err);
			CHECK(0);
		}
		CHECK(next == NULL);
		seen_free(&s);
		free(next);
	}
	/* the same token again: the same page for ever */
	struct seen s = {0};
	char err[512], *next = NULL;
	asked = "1~abc";
	int rc = page_str(HEAD "<IsTruncated>true</IsTruncated>" ENTRY(BK "B1/COMMITTED", "0")
			  "<NextContinuationToken>1~abc</NextContinuationToken>" TAIL,
			  &s, &next, err, sizeof err);
	asked = NULL;
	CHECK(rc == EV_ERR && strstr(err, "is malformed, it gives as the next page's token the one "
					  "it was asked with: <NextContinuationToken>1~abc<"));
	CHECK(next == NULL);
	seen_free(&s);
	/* a token too long to send back */
	struct buf x;
	buf_init(&x, 0);
	CHECK(buf_puts(&x, HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken>") == 0);
	for (int i = 0; i < S3_LIST_TOKEN_MAX + 1; i++)
		CHECK(buf_puts(&x, "t") == 0);
	CHECK(buf_puts(&x, "</NextContinuationToken>" TAIL) == 0);
	rc = page(x.data, x.len, &s, &next, err, sizeof err);
	CHECK(rc == EV_ERR && strstr(err, "is malformed, it gives a continuation token of more "
					  "than 4096 bytes: <NextContinuationToken>ttt"));
	CHECK(next == NULL);
	buf_free(&x);
	/* a token as long as RGW's may be: taken */
	buf_init(&x, 0);
	CHECK(buf_puts(&x, HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken>") == 0);
	for (int i = 0; i < 1500; i++)
		CHECK(buf_puts(&x, "t") == 0);
	CHECK(buf_puts(&x, "</NextContinuationToken>" TAIL) == 0);
	rc = page(x.data, x.len, &s, &next, err, sizeof err);
	CHECK(rc == 0 && next && strlen(next) == 1500);
	free(next);
	next = NULL;
	buf_free(&x);
	/* a NUL byte in a key: never cut short into a name of the layout */
	static const char nul[] = HEAD NOT_TRUNCATED "<Contents><Key>" BK "B1/COMMITTED\0x</Key>"
				  "<Size>0</Size></Contents>" TAIL;
	rc = page(nul, sizeof nul - 1, &s, &next, err, sizeof err);
	CHECK(rc == EV_ERR && strstr(err, "is malformed, a key holds a NUL byte: <Contents><Key>"));
	CHECK(s.n == 0);
	seen_free(&s);
	/* a token with a NUL byte, or one that decodes to nothing: cut at the
	 * NUL it would be another token, or none (found by fuzz_s3list) */
	static const char tnul[] = HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken>"
				   "\0\0abc</NextContinuationToken>" TAIL;
	rc = page(tnul, sizeof tnul - 1, &s, &next, err, sizeof err);
	CHECK(rc == EV_ERR && next == NULL && strstr(err, "continuation token holding a NUL byte"));
	static const char tnone[] = HEAD "<IsTruncated>true</IsTruncated><NextContinuationToken>"
				    "\0</NextContinuationToken>" TAIL;
	rc = page(tnone, sizeof tnone - 1, &s, &next, err, sizeof err);
	CHECK(rc == EV_ERR && next == NULL && strstr(err, "holding a NUL byte"));
	seen_free(&s);
}

int main(void)
{
	RUN(test_list_plain);
	RUN(test_list_entry_without_key);
	RUN(test_list_long_entry);
	RUN(test_list_decoded_once);
	RUN(test_list_malformed);
	T_EXIT();
}
