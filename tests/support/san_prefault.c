/*
 * Linked into the programs of the sanitizer build only (make check-san).
 *
 * At every exit LeakSanitizer reads each writable segment of each loaded
 * library, looking for pointers into the heap, and that includes the
 * sanitizer runtimes' own: GCC 12's libasan and libubsan keep about 12 MB
 * of zero-filled tables there (their stack depots), nearly all of it never
 * touched. Reading an untouched page is a page fault, and on the virtual
 * machines the suite runs on a fault is dear: those 2,600 faults were a
 * fifth of the time `evcap --version` took (77 ms; 62 ms without them).
 * MADV_POPULATE_READ (Linux 5.14) maps the same pages in one call at
 * start, read-only and shared with the zero page, so the scan at exit
 * finds them mapped. What LeakSanitizer scans, and so what it finds, does
 * not change.
 */
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static int populate_runtime(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (!strstr(name, "/libasan.so") && !strstr(name, "/libubsan.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type != PT_LOAD || !(p->p_flags & PF_W))
			continue;
		uintptr_t b = (info->dlpi_addr + p->p_vaddr) & ~(uintptr_t)4095;
		uintptr_t e = (info->dlpi_addr + p->p_vaddr + p->p_memsz + 4095) & ~(uintptr_t)4095;
		/* where transparent huge pages are on for those who ask, 2 MB
		 * of zeros map as one page: fewer entries for the scan to walk */
		(void)madvise((void *)b, e - b, MADV_HUGEPAGE);
		(void)madvise((void *)b, e - b, MADV_POPULATE_READ); /* older kernels: EINVAL */
	}
	return 0;
}

__attribute__((constructor)) static void san_prefault(void)
{
	dl_iterate_phdr(populate_runtime, NULL);
}
