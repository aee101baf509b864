/*
 * WGS-84 -> GCJ-02 by the widely published polynomial-and-sine
 * approximation of the official obfuscation (Krasovsky ellipsoid
 * constants). Display only: nothing evcap stores is ever shifted.
 */
#include "gcj02.h"

#include <math.h>

#define GCJ_A 6378245.0               /* Krasovsky 1940 semi-major axis, m */
#define GCJ_EE 0.00669342162296594323 /* its first eccentricity squared */

int gcj02_applies(double lat, double lon)
{
	/* The conventional box; it also covers some neighbours' land, which is
	 * what every Chinese map does too, so positions agree with them. */
	return isfinite(lat) && isfinite(lon) && lon >= 72.004 && lon <= 137.8347 &&
	       lat >= 0.8293 && lat <= 55.8271;
}

/* The shared periodic terms of both offsets. */
static double waves(double x)
{
	return (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
}

static double shift_lat(double x, double y)
{
	double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
	r += waves(x);
	r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
	return r;
}

static double shift_lon(double x, double y)
{
	double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
	r += waves(x);
	r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
	r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
	return r;
}

void gcj02_from_wgs84(double lat, double lon, double *glat, double *glon)
{
	*glat = lat;
	*glon = lon;
	if (!gcj02_applies(lat, lon))
		return;
	double dlat = shift_lat(lon - 105.0, lat - 35.0);
	double dlon = shift_lon(lon - 105.0, lat - 35.0);
	double rad = lat / 180.0 * M_PI;
	double m = 1.0 - GCJ_EE * sin(rad) * sin(rad);
	double sm = sqrt(m);
	/* metres of shift -> degrees at this latitude on the ellipsoid */
	dlat = dlat * 180.0 / ((GCJ_A * (1.0 - GCJ_EE)) / (m * sm) * M_PI);
	dlon = dlon * 180.0 / (GCJ_A / sm * cos(rad) * M_PI);
	*glat = lat + dlat;
	*glon = lon + dlon;
}
