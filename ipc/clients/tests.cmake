# Tests of the clients for applications (included by tests/CMakeLists.txt): the Python
# module's unittest files and the README's Python, shell and C++ examples, each against
# the real durationd. Debian's python3 runs them: python3-msgpack is installed for it
# (packaging/install-deps.sh), not for any other python3 on PATH.
set(DURATIOND_PYTHON3 /usr/bin/python3 CACHE FILEPATH "The python3 that has python3-msgpack (Debian's)")
set(DURATIOND_PYTHON_CLIENT_DIR ${PROJECT_SOURCE_DIR}/ipc/clients/python)

function(add_client_test name unittest_target)
  add_test(NAME "${name}"
           COMMAND ${DURATIOND_PYTHON3} -B -m unittest -v ${unittest_target}
           WORKING_DIRECTORY ${DURATIOND_PYTHON_CLIENT_DIR}/tests)
  set_tests_properties("${name}" PROPERTIES TIMEOUT 300 ENVIRONMENT
    "PYTHONPATH=${DURATIOND_PYTHON_CLIENT_DIR}:${DURATIOND_PYTHON_CLIENT_DIR}/tests;DURATIOND_BINARY=$<TARGET_FILE:durationd>;DURATIOND_CACHE_EXAMPLE=$<TARGET_FILE:durationd-cache-example>")
endfunction()

add_client_test("python: client" test_client)
add_client_test("python: errors" test_errors)
add_client_test("python: DurationCache" test_cache)
add_client_test("python: README example" test_examples.PythonExampleTest)
add_client_test("shell: README socat example" test_examples.ShellExampleTest)
add_client_test("c++: README cache_example" test_examples.CppExampleTest)
add_client_test("readme: client examples shown verbatim" test_examples.ReadmeTest)
