/* evcapd: the capture daemon (placeholder until the daemon lands). */
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "evcapd: not built yet\n");
	return 2;
}
