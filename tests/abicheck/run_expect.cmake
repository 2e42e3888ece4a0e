# run_expect.cmake - runs COMMAND (a ;-list) and checks its exit status
# (EXPECT_STATUS) and that stdout+stderr match EXPECT_REGEX.
#   cmake -DCOMMAND=prog;arg -DEXPECT_STATUS=1 -DEXPECT_REGEX=re -P run_expect.cmake
execute_process(COMMAND ${COMMAND}
                RESULT_VARIABLE status
                OUTPUT_VARIABLE out
                ERROR_VARIABLE err
                TIMEOUT 50)
set(all "${out}${err}")
if(NOT status STREQUAL "${EXPECT_STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_STATUS}\n"
                      "command: ${COMMAND}\n--- output:\n${all}")
endif()
if(DEFINED EXPECT_REGEX AND NOT "${EXPECT_REGEX}" STREQUAL "")
  if(NOT all MATCHES "${EXPECT_REGEX}")
    message(FATAL_ERROR "output does not match '${EXPECT_REGEX}'\n"
                        "command: ${COMMAND}\n--- output:\n${all}")
  endif()
endif()
message(STATUS "exit status ${status} as expected\n${all}")
