# Compiler launcher, warnings and sanitizers shared by every target.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()

add_library(nimbus_warnings INTERFACE)
target_compile_options(nimbus_warnings INTERFACE -Wall -Wextra -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GCC" OR CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 pairs an inlined Asio coroutine frame's sized operator delete with
  # the global operator new and warns falsely (GCC bug 109224).
  target_compile_options(nimbus_warnings INTERFACE -Wno-mismatched-new-delete)
endif()

if(NIMBUS_SANITIZE)
  add_compile_options(-fsanitize=${NIMBUS_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${NIMBUS_SANITIZE})
  if(NIMBUS_SANITIZE MATCHES "thread")
    # Asio's fenced blocks use atomic_thread_fence, which TSan does not model;
    # GCC warns about every use. The queues around them are mutex-protected.
    add_compile_options(-Wno-tsan)
  endif()
endif()

if(NIMBUS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "NIMBUS_FUZZ needs clang (CXX=clang++)")
  endif()
  # ASan only: clang 14's UBSan cannot compile C++20 coroutines ("Cannot
  # represent a difference across sections"). UBSan runs in the gcc test build.
  add_compile_options(-fsanitize=fuzzer-no-link,address)
  add_link_options(-fsanitize=address)
endif()

# Asio: no deprecated interfaces, and one io_context per thread needs no locking
# inside the reactor's per-descriptor state beyond what Asio does itself.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

# nimbus_unit_test(NAME sources... LIBS libs...): a GoogleTest binary whose
# cases each become a ctest test labelled "unit".
include(GoogleTest)
function(nimbus_unit_test name)
  cmake_parse_arguments(T "" "" "LIBS" ${ARGN})
  if(NOT NIMBUS_BUILD_TESTS OR NIMBUS_FUZZ)
    return()
  endif()
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest GTest::gtest_main
                                        nimbus_warnings)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()
