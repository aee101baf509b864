/* evcap: placeholder main, replaced by the command dispatcher. */
#include <stdio.h>
int main(void)
{
	return 0;
}
