/*
 * cu_main.h - the main() every CUnit suite binary shares.
 *
 * A test file lists its tests in a CU_TestInfo array and ends with
 * LH_CU_MAIN("suite name", tests).  The binary exits non-zero when any
 * assertion failed, so ctest sees the failure.
 */
#ifndef LH_CU_MAIN_H
#define LH_CU_MAIN_H

#include <CUnit/Basic.h>
#include <stdio.h>

static inline int lh_cu_run(const char *name, CU_TestInfo *tests)
{
    CU_SuiteInfo suites[] = {
        {name, NULL, NULL, NULL, NULL, tests},
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "cannot register suite %s: %s\n", name,
                CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (ran == 0) {
        fprintf(stderr, "suite %s ran no test\n", name);
        return 1;
    }
    return failed ? 1 : 0;
}

#define LH_CU_MAIN(name, tests)                                                \
    int main(void)                                                             \
    {                                                                          \
        return lh_cu_run(name, tests);                                         \
    }

#endif
