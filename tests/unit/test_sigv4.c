/* Unit tests for the SigV4 signer: the worked examples in AWS's S3
 * documentation ("Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk"), computed here and compared with
 * the signatures AWS published, plus query and path encoding. */
#include <stdlib.h>

#include "hash.h"
#include "sigv4.h"
#include "t.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define T_20130524 1369353600 /* Fri, 24 May 2013 00:00:00 GMT */

static char *sign(const char *method, const char *path, const struct sigv4_pair *q, size_t nq,
		  const struct sigv4_pair *h, size_t nh, const char *payload,
		  struct sigv4_result *res)
{
	struct sigv4_request r = {
		.method = method, .path = path, .query = q, .n_query = nq, .headers = h,
		.n_headers = nh, .payload_sha256 = payload, .time = T_20130524,
		.region = "us-east-1", .service = "s3", .access_key = AK, .secret_key = SK,
	};
	char err[256];
	if (sigv4_sign(&r, res, err, sizeof err) != 0) {
		printf("# sign failed: %s\n", err);
		return NULL;
	}
	return res->authorization;
}

static void test_aws_get_object(void)
{
	struct sigv4_pair h[] = {{"Host", HOST}, {"Range", "bytes=0-9"}};
	struct sigv4_result res;
	char *auth = sign("GET", "/test.txt", NULL, 0, h, 2, EMPTY_SHA, &res);
	CHECK_STR(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
			"aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
			"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	CHECK_STR(res.canonical_request,
		  "GET\n/test.txt\n\nhost:" HOST "\nrange:bytes=0-9\n"
		  "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
		  "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
	CHECK_STR(res.amz_date, "20130524T000000Z");
	sigv4_result_free(&res);
}

static void test_aws_put_object(void)
{
	const char *body = "Welcome to Amazon S3.";
	char sha[65];
	sha256_hex(body, strlen(body), sha);
	CHECK_STR(sha, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	struct sigv4_pair h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
				 {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
				 {"Host", HOST}};
	struct sigv4_result res;
	char *auth = sign("PUT", "/test$file.text", NULL, 0, h, 3, sha, &res);
	CHECK_STR(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
			"aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
			"x-amz-storage-class,Signature="
			"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
	CHECK_STR(res.canonical_uri, "/test%24file.text");
	sigv4_result_free(&res);
}

static void test_aws_get_lifecycle(void)
{
	struct sigv4_pair q[] = {{"lifecycle", ""}};
	struct sigv4_pair h[] = {{"Host", HOST}};
	struct sigv4_result res;
	char *auth = sign("GET", "/", q, 1, h, 1, EMPTY_SHA, &res);
	CHECK(auth && strstr(auth, "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a2"
				   "00a0136783543"));
	CHECK_STR(res.query_string, "lifecycle=");
	sigv4_result_free(&res);
}

static void test_aws_list_objects(void)
{
	/* given out of order: the signer must sort */
	struct sigv4_pair q[] = {{"prefix", "J"}, {"max-keys", "2"}};
	struct sigv4_pair h[] = {{"host", HOST}};
	struct sigv4_result res;
	char *auth = sign("GET", "/", q, 2, h, 1, EMPTY_SHA, &res);
	CHECK(auth && strstr(auth, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed"
				   "5711ef69dc6f7"));
	CHECK_STR(res.query_string, "max-keys=2&prefix=J");
	sigv4_result_free(&res);
}

static void test_encoding(void)
{
	char *e = sigv4_encode("cases/a b/ü~x", 0);
	CHECK_STR(e, "cases%2Fa%20b%2F%C3%BC~x");
	free(e);
	e = sigv4_encode("/bucket/blobs/sha256/ab/cd", 1);
	CHECK_STR(e, "/bucket/blobs/sha256/ab/cd");
	free(e);
	struct sigv4_pair q[] = {{"uploadId", "2~a/b+c="}, {"partNumber", "10"}};
	struct sigv4_pair h[] = {{"host", "127.0.0.1:7480"}, {"X-Amz-Meta-Sha256", "  a   b "}};
	struct sigv4_result res;
	CHECK(sign("PUT", "/b/k", q, 2, h, 2, EMPTY_SHA, &res) != NULL);
	CHECK_STR(res.query_string, "partNumber=10&uploadId=2~a%2Fb%2Bc%3D");
	CHECK(strstr(res.canonical_request, "\nx-amz-meta-sha256:a b\n") != NULL);
	sigv4_result_free(&res);
	/* a header the signer owns, a missing host, a newline in a value: refused */
	struct sigv4_pair bad1[] = {{"host", "h"}, {"x-amz-date", "x"}};
	struct sigv4_pair bad2[] = {{"range", "bytes=0-1"}};
	struct sigv4_pair bad3[] = {{"host", "h\r\nx: y"}};
	CHECK(sign("GET", "/", NULL, 0, bad1, 2, EMPTY_SHA, &res) == NULL);
	CHECK(sign("GET", "/", NULL, 0, bad2, 1, EMPTY_SHA, &res) == NULL);
	CHECK(sign("GET", "/", NULL, 0, bad3, 1, EMPTY_SHA, &res) == NULL);
	CHECK(sign("GET", "/", NULL, 0, h, 1, "XYZ", &res) == NULL);
}

int main(void)
{
	RUN(test_aws_get_object);
	RUN(test_aws_put_object);
	RUN(test_aws_get_lifecycle);
	RUN(test_aws_list_objects);
	RUN(test_encoding);
	T_EXIT();
}
