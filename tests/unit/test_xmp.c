/*
 * Unit tests for the bounded XMP scan: DJI fields in the attribute form DJI
 * cameras write and the element form exiftool writes, the misspelled
 * GpsLongtitude, Adobe's coordinate form, dates with offsets, and hostile
 * packets (deep nesting, unterminated values, numbers that are not).
 */
#include <stdint.h>

#include "t.h"
#include "xmp.h"

static int scan(const char *s, struct xmp_info *x, char *err, size_t errlen)
{
	/* an exact-size heap copy without a NUL, so reading past the end is
	 * caught by the sanitizers */
	size_t n = strlen(s);
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, s, n);
	int rc = xmp_scan(c, n, x, err, errlen);
	free(c);
	return rc;
}

#define DJI_NS "xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\""

static void test_dji_attributes(void)
{
	struct xmp_info x;
	char err[200] = "";
	const char *p =
		"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description rdf:about=\"\"\n"
		"    " DJI_NS "\n"
		"    drone-dji:AbsoluteAltitude=\"+152.43\"\n"
		"    drone-dji:RelativeAltitude=\"+99.90\"\n"
		"    drone-dji:GpsLatitude=\"22.543096\"\n"
		"    drone-dji:GpsLongtitude=\"114.057865\"\n"
		"    drone-dji:GimbalRollDegree=\"+0.00\"\n"
		"    drone-dji:GimbalYawDegree=\"-93.50\"\n"
		"    drone-dji:GimbalPitchDegree=\"-90.00\"\n"
		"    drone-dji:FlightRollDegree=\"+1.20\"\n"
		"    drone-dji:FlightYawDegree=\"-92.80\"\n"
		"    drone-dji:FlightPitchDegree='-3.1'/>\n"
		"</rdf:RDF></x:xmpmeta>";
	CHECK(scan(p, &x, err, sizeof err) == 0);
	CHECK_STR(err, "");
	CHECK(x.dji_lat.has && x.dji_lon.has);
	CHECK_NEAR(x.dji_lat.v, 22.543096, 1e-9);
	CHECK_NEAR(x.dji_lon.v, 114.057865, 1e-9);
	CHECK(x.abs_alt.has && x.abs_alt.v == 152.43);
	CHECK(x.rel_alt.has && x.rel_alt.v == 99.90);
	CHECK(x.gimbal_yaw.has && x.gimbal_yaw.v == -93.5);
	CHECK(x.gimbal_pitch.has && x.gimbal_pitch.v == -90);
	CHECK(x.gimbal_roll.has && x.gimbal_roll.v == 0);
	CHECK(x.flight_yaw.has && x.flight_yaw.v == -92.8);
	CHECK(x.flight_pitch.has && x.flight_pitch.v == -3.1);
	CHECK(x.flight_roll.has && x.flight_roll.v == 1.2);
	CHECK(!x.exif_lat.has && !x.has_time);
}

static void test_dji_elements(void)
{
	struct xmp_info x;
	char err[200] = "";
	/* the shape exiftool writes */
	const char *p =
		"<?xpacket begin='\xEF\xBB\xBF' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
		"<x:xmpmeta xmlns:x='adobe:ns:meta/'>\n<rdf:RDF>\n"
		" <rdf:Description rdf:about=''\n  " DJI_NS ">\n"
		"  <drone-dji:AbsoluteAltitude>-12.5</drone-dji:AbsoluteAltitude>\n"
		"  <drone-dji:GpsLatitude>-33.8688</drone-dji:GpsLatitude>\n"
		"  <drone-dji:GpsLongitude> 151.2093 </drone-dji:GpsLongitude>\n"
		"  <drone-dji:GpsLongtitude>1.0</drone-dji:GpsLongtitude>\n"
		"  <drone-dji:GimbalPitchDegree rdf:datatype='x'>-45</drone-dji:GimbalPitchDegree>\n"
		" </rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end='w'?>";
	CHECK(scan(p, &x, err, sizeof err) == 0);
	CHECK_STR(err, "");
	CHECK(x.dji_lat.has && x.dji_lat.v == -33.8688);
	/* the correct spelling wins over the misspelled one */
	CHECK(x.dji_lon.has && x.dji_lon.v == 151.2093);
	CHECK(x.abs_alt.has && x.abs_alt.v == -12.5);
	CHECK(x.gimbal_pitch.has && x.gimbal_pitch.v == -45);
	CHECK(!x.rel_alt.has);
}

static void test_prefix_from_namespace(void)
{
	struct xmp_info x;
	char err[200] = "";
	const char *p = "<rdf:Description xmlns:dji=\"http://www.dji.com/drone-dji/1.0/\" "
			"dji:GpsLatitude=\"10.5\" dji:GpsLongitude=\"20.25\" "
			"drone-dji:GpsLatitude=\"99\"/>";
	CHECK(scan(p, &x, err, sizeof err) == 0);
	CHECK(x.dji_lat.has && x.dji_lat.v == 10.5 && x.dji_lon.v == 20.25);
}

static void test_bad_numbers(void)
{
	struct xmp_info x;
	char err[200];
	static const char *bad[] = {"nan", "inf", "1e999", "22.5abc", "", "0x10", "--1", " + 1"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char p[300];
		snprintf(p, sizeof p,
			 "<d " DJI_NS " drone-dji:GpsLatitude=\"%s\" drone-dji:GpsLongitude=\"5\"/>",
			 bad[i]);
		err[0] = '\0';
		CHECK(scan(p, &x, err, sizeof err) == EV_EINVAL);
		CHECK(!x.dji_lat.has);
		CHECK(x.dji_lon.has); /* the rest is still read */
		CHECK(strstr(err, "drone-dji:GpsLatitude") != NULL);
	}
	CHECK(scan("<d drone-dji:GpsLatitude=\"91\"/>", &x, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "outside") != NULL);
	CHECK(scan("<d drone-dji:GimbalYawDegree=\"720\"/>", &x, err, sizeof err) == EV_EINVAL);
}

static void test_hostile(void)
{
	struct xmp_info x;
	char err[200] = "";
	/* unterminated attribute value */
	CHECK(scan("<d drone-dji:GpsLatitude=\"22.5", &x, err, sizeof err) == EV_ECORRUPT);
	CHECK(strstr(err, "unterminated") != NULL);
	/* unterminated element */
	CHECK(scan("<drone-dji:GpsLatitude>22.5", &x, err, sizeof err) == EV_ECORRUPT);
	CHECK(scan("<drone-dji:GpsLatitude", &x, err, sizeof err) == EV_ECORRUPT);
	CHECK(scan("<d drone-dji:GpsLatitude", &x, err, sizeof err) == 0);
	CHECK(!x.dji_lat.has);
	/* over-long value */
	char *big = malloc(2000);
	strcpy(big, "<d drone-dji:GpsLatitude=\"");
	memset(big + strlen(big), '1', 1000);
	strcpy(big + 26 + 1000, "\"/>");
	CHECK(scan(big, &x, err, sizeof err) == EV_ELIMIT);
	free(big);
	/* 100,000 levels of nesting cost nothing and do not hide the value */
	size_t depth = 100000, n = depth * 3 + 200;
	char *deep = malloc(n);
	size_t o = 0;
	for (size_t i = 0; i < depth; i++) {
		memcpy(deep + o, "<a>", 3);
		o += 3;
	}
	o += (size_t)sprintf(deep + o, "<drone-dji:GpsLatitude>1.5</drone-dji:GpsLatitude>");
	deep[o] = '\0';
	CHECK(scan(deep, &x, err, sizeof err) == 0);
	CHECK(x.dji_lat.has && x.dji_lat.v == 1.5);
	free(deep);
	/* many false hits are bounded */
	size_t reps = 10000;
	char *many = malloc(reps * 24 + 1);
	o = 0;
	for (size_t i = 0; i < reps; i++) {
		memcpy(many + o, "xdrone-dji:GpsLatitude ", 23);
		o += 23;
	}
	many[o] = '\0';
	CHECK(scan(many, &x, err, sizeof err) == 0);
	CHECK(!x.dji_lat.has);
	free(many);
	/* the packet cap */
	uint8_t *huge = calloc(XMP_MAX_PACKET + 1, 1);
	CHECK(xmp_scan(huge, XMP_MAX_PACKET + 1, &x, err, sizeof err) == EV_ELIMIT);
	free(huge);
	/* nothing at all */
	CHECK(xmp_scan((const uint8_t *)"", 0, &x, err, sizeof err) == 0);
	/* longer names never match a shorter property */
	CHECK(scan("<d drone-dji:GpsLatitudeRef=\"N\" drone-dji:GpsLatitude2=\"3\"/>"
		   "<drone-dji:GpsLatitudeX>4</drone-dji:GpsLatitudeX>",
		   &x, err, sizeof err) == 0);
	CHECK(!x.dji_lat.has);
	/* a structured value is not read as a number */
	CHECK(scan("<drone-dji:GpsLatitude><rdf:Alt><rdf:li>5</rdf:li></rdf:Alt>"
		   "</drone-dji:GpsLatitude>",
		   &x, err, sizeof err) == 0);
	CHECK(!x.dji_lat.has);
}

static void test_adobe_coords(void)
{
	double d;
	CHECK(xmp_parse_coord("0,4.21601S", 1, &d) == 0);
	CHECK_NEAR(d, -0.0702668333, 1e-9);
	CHECK(xmp_parse_coord("34,22.91611E", 0, &d) == 0);
	CHECK_NEAR(d, 34.3819351667, 1e-9);
	CHECK(xmp_parse_coord("22,30,36N", 1, &d) == 0);
	CHECK_NEAR(d, 22.51, 1e-9);
	CHECK(xmp_parse_coord("-12.5", 0, &d) == 0 && d == -12.5);
	CHECK(xmp_parse_coord("22,30.5E", 1, &d) != 0);  /* E is not a latitude */
	CHECK(xmp_parse_coord("22,60.5N", 1, &d) != 0);  /* minutes >= 60 */
	CHECK(xmp_parse_coord("91,0N", 1, &d) != 0);
	CHECK(xmp_parse_coord("22,N", 1, &d) != 0);
	CHECK(xmp_parse_coord("22.5N", 1, &d) != 0);
	CHECK(xmp_parse_coord("", 1, &d) != 0);
	CHECK(xmp_parse_coord("1e3,0N", 1, &d) != 0);

	struct xmp_info x;
	char err[200] = "";
	const char *p = "<rdf:Description xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" "
			"exif:GPSAltitude=\"136169/100\" exif:GPSAltitudeRef=\"1\" "
			"exif:GPSLatitude=\"0,4.21601S\" exif:GPSLongitude=\"34,22.91611E\"/>";
	CHECK(scan(p, &x, err, sizeof err) == 0);
	CHECK(x.exif_lat.has && x.exif_lon.has && x.exif_alt.has);
	CHECK_NEAR(x.exif_alt.v, -1361.69, 1e-9);
	CHECK(scan("<d exif:GPSAltitude=\"5/0\"/>", &x, err, sizeof err) == EV_EINVAL);
	CHECK(strstr(err, "zero denominator") != NULL);
	CHECK(scan("<d exif:GPSLatitude=\"north\"/>", &x, err, sizeof err) == EV_EINVAL);
}

/* exif:GPSImgDirection, which Adobe's software and exiv2 keep in XMP
 * alone (the corpus's adobe-xmp-coords.jpg): ruled as EXIF's is. */
static void test_direction(void)
{
	struct xmp_info x;
	char err[200] = "";
	CHECK(scan("<d exif:GPSImgDirection=\"1763/10\" exif:GPSImgDirectionRef=\"M\"/>", &x,
		   err, sizeof err) == 0);
	CHECK(x.img_dir.has);
	CHECK_NEAR(x.img_dir.v, 176.3, 1e-9);
	CHECK_STR(x.img_dir_ref, "M");
	CHECK_STR(x.img_dir_note, "");
	CHECK(scan("<d exif:GPSImgDirection=\"360\"/>", &x, err, sizeof err) == 0);
	CHECK(x.img_dir.has && x.img_dir.v == 0);
	CHECK_STR(x.img_dir_ref, "");
	CHECK(scan("<d exif:GPSImgDirection=\"90\" exif:GPSImgDirectionRef=\"X\"/>", &x, err,
		   sizeof err) == 0);
	CHECK(x.img_dir.has && x.img_dir.v == 90);
	CHECK(strstr(x.img_dir_note, "neither T nor M") != NULL);
	CHECK(scan("<d exif:GPSImgDirection=\"7200/10\"/>", &x, err, sizeof err) == EV_EINVAL);
	CHECK(!x.img_dir.has);
	CHECK_STR(err, "XMP exif:GPSImgDirection 720.00 is not 0 to 360 degrees");
	CHECK(scan("<d exif:GPSImgDirection=\"1/0\"/>", &x, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "XMP exif:GPSImgDirection has a zero denominator");
}

static void test_dates(void)
{
	double t;
	int off;
	CHECK(xmp_parse_date("2017-06-27T11:52:32+05:30", &t, &off) == 0);
	CHECK(t == 1498544552.0 && off == 19800);
	CHECK(xmp_parse_date("2023:08:17T11:49:04+02:00", &t, &off) == 0 && off == 7200);
	CHECK(xmp_parse_date("2023-11-14T22:13Z", &t, &off) == 0 && t == 1700000000.0 - 20);
	CHECK(xmp_parse_date("2023-11-15T06:13:20.5+0800", &t, &off) == 0);
	CHECK(t == 1700000000.5 && off == 28800);
	CHECK(xmp_parse_date("2019-07-16T10:26:11", &t, &off) != 0); /* no offset */
	CHECK(xmp_parse_date("2019-07-16", &t, &off) != 0);
	CHECK(xmp_parse_date("2019-07-16T10:26:11+25:00", &t, &off) != 0);
	CHECK(xmp_parse_date("garbage garbage garbage", &t, &off) != 0);
	/* a colon where the seconds should start: no seconds, so no zone is
	 * looked for past the text (it was, reading beyond the copy) */
	CHECK(xmp_parse_date("2023-05-01T10:00:Z", &t, &off) == EV_EINVAL);
	int64_t local;
	CHECK(xmp_parse_local("2023-05-01T10:00:", &local) == EV_EINVAL);
	CHECK(xmp_parse_local("2023-05-01T10:00", &local) == 0 && local == 1682935200);
	CHECK(xmp_parse_local("2023-05-01T10:00:07.5", &local) == 0 && local == 1682935207);
	CHECK(xmp_parse_local("2023-05-01T10:00:07+08:00", &local) == EV_EINVAL);
	CHECK(xmp_parse_local("2023-05-01", &local) == EV_EINVAL);

	struct xmp_info x;
	char err[200] = "";
	/* the first property with an offset wins, in the documented order */
	const char *p = "<d xmp:CreateDate=\"2019-07-16T10:26:11\" "
			"photoshop:DateCreated=\"2019-07-16T10:26:11+08:00\"/>"
			"<exif:DateTimeOriginal>2019-07-16T10:26:11-07:00</exif:DateTimeOriginal>";
	CHECK(scan(p, &x, err, sizeof err) == 0);
	CHECK(x.has_time && x.offset_s == -25200);
	CHECK_STR(x.time_from, "exif:DateTimeOriginal");
	CHECK(scan("<d xmp:CreateDate=\"2019-07-16T10:26:11\" "
		   "photoshop:DateCreated=\"2019-07-16T10:26:11+08:00\"/>",
		   &x, err, sizeof err) == 0);
	CHECK(x.has_time && x.offset_s == 28800);
	CHECK_STR(x.time_from, "photoshop:DateCreated");
}

static void test_serial(void)
{
	struct xmp_info x;
	char err[200] = "";
	CHECK(scan("<d aux:SerialNumber=\"AB\x01 12\"/>", &x, err, sizeof err) == 0);
	CHECK_STR(x.serial, "AB? 12");
	CHECK(scan("<d aux:SerialNumber=\"A\" exifEX:BodySerialNumber=\"B\"/>", &x, err,
		   sizeof err) == 0);
	CHECK_STR(x.serial, "B");
}

/* The Adobe-written packet in the corpus photo, scanned directly. */
static void test_corpus_adobe(void)
{
	const char *c = t_corpus();
	if (!c)
		T_SKIP("EVCAP_CORPUS not set and ../shared/corpus absent");
	char path[4096];
	snprintf(path, sizeof path, "%s/photos/adobe-xmp-coords.jpg", c);
	FILE *f = fopen(path, "rb");
	if (!f)
		T_SKIP("photos/adobe-xmp-coords.jpg not in the corpus");
	static uint8_t b[1 << 16];
	size_t n = fread(b, 1, sizeof b, f);
	fclose(f);
	const uint8_t *h = memmem(b, n, "<x:xmpmeta", 10);
	CHECK(h != NULL);
	if (!h)
		return;
	struct xmp_info x;
	char err[200] = "";
	CHECK(xmp_scan(h, n - (size_t)(h - b), &x, err, sizeof err) == 0);
	CHECK_NEAR(x.exif_lat.v, -0.0702668333333333, 1e-9);
	CHECK_NEAR(x.exif_lon.v, 34.3819351666667, 1e-9);
	CHECK_NEAR(x.exif_alt.v, 1361.69, 1e-9);
	CHECK(x.img_dir.has);
	CHECK_NEAR(x.img_dir.v, 176.3, 1e-9);
	CHECK_STR(x.img_dir_ref, "T");
	CHECK(!x.has_time); /* its dates carry no offset */
}

int main(void)
{
	RUN(test_dji_attributes);
	RUN(test_dji_elements);
	RUN(test_prefix_from_namespace);
	RUN(test_bad_numbers);
	RUN(test_hostile);
	RUN(test_adobe_coords);
	RUN(test_direction);
	RUN(test_dates);
	RUN(test_serial);
	RUN(test_corpus_adobe);
	T_EXIT();
}
