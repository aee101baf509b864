/*
 * WGS-84 to GCJ-02, the shifted datum Chinese web maps (Amap, Tencent) use,
 * so that staff checking a place on such a map see it where it was. Only
 * for display: evcap stores and exports WGS-84, and every GCJ-02 value it
 * prints is labelled as such.
 */
#ifndef EVCAP_GCJ02_H
#define EVCAP_GCJ02_H

/* 1 if (lat, lon) lies in the rough box where GCJ-02 applies (mainland
 * China and its waters); outside it the two datums are the same. */
int gcj02_applies(double lat, double lon);

/* Converts a WGS-84 position to GCJ-02. Outside China, or for values that
 * are not finite, the position is returned unchanged. The published
 * approximation is good to about a metre against the official shift. */
void gcj02_from_wgs84(double lat, double lon, double *glat, double *glon);

#endif
