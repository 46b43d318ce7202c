/* Tiny check helpers shared by the C tests in tests/abi: count failures, keep going, and say
 * where. A test's main returns check_exit_code(). */
#ifndef OM_TEST_CHECK_H
#define OM_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            ++check_failures;                                                                 \
        }                                                                                     \
    } while (0)

/* CHECK for an om_status, printing the status name or number on failure. */
#define CHECK_STATUS(expr, expected)                                                          \
    do {                                                                                      \
        long check_got_ = (long)(expr);                                                       \
        if (check_got_ != (long)(expected)) {                                                 \
            fprintf(stderr, "%s:%d: %s returned %ld, expected %s (%ld)\n", __FILE__, __LINE__, \
                    #expr, check_got_, #expected, (long)(expected));                          \
            ++check_failures;                                                                 \
        }                                                                                     \
    } while (0)

static inline int check_exit_code(const char* test)
{
    if (check_failures == 0) {
        printf("%s: OK\n", test);
        return 0;
    }
    fprintf(stderr, "%s: %d check(s) failed\n", test, check_failures);
    return 1;
}

#endif /* OM_TEST_CHECK_H */
