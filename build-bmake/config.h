/* Written by configure: what this system offers. */
#ifndef DIRTYBENCH_CONFIG_H
#define DIRTYBENCH_CONFIG_H
/* linux/userfaultfd.h lacks UFFD_FEATURE_WP_ASYNC: compat.h */
/* linux/fs.h lacks PAGEMAP_SCAN: compat.h */
#define HAVE_UFFDIO_WRITEPROTECT_HDR 1
#define HAVE_MAP_HUGETLB 1
#define HAVE_MADV_HUGEPAGE 1
#define DB_VERSION "0.1.0"
#endif
