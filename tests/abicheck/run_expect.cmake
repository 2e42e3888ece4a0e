# run_expect.cmake - runs COMMAND (a ;-list) and checks its exit status
# (EXPECT_STATUS), that stdout+stderr match EXPECT_REGEX, and with PYTHON
# set that stdout is valid JSON.
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
# With -DPYTHON=python3, stdout must also parse as JSON.
if(DEFINED PYTHON AND NOT "${PYTHON}" STREQUAL "")
  string(RANDOM LENGTH 8 tag)
  set(tmp "${CMAKE_CURRENT_BINARY_DIR}/run_expect_${tag}.json")
  file(WRITE "${tmp}" "${out}")
  execute_process(COMMAND ${PYTHON} -c "import json,sys; json.load(sys.stdin)"
                  INPUT_FILE "${tmp}" RESULT_VARIABLE json_status
                  ERROR_VARIABLE json_err)
  file(REMOVE "${tmp}")
  if(NOT json_status EQUAL 0)
    message(FATAL_ERROR "stdout is not valid JSON: ${json_err}\n--- stdout:\n${out}")
  endif()
endif()
message(STATUS "exit status ${status} as expected\n${all}")
