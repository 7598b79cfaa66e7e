# Builds the fuzzers in this folder with clang++ and runs each for SECONDS, starting from the seed files in
# tests/data/importers/fuzz/<fuzzer>/. Fails when a fuzzer finds a crash (its input is left in BINARY).
# cmake -DSOURCE=<this folder> -DBINARY=<build folder> -DCLANGXX=<clang++> -DSECONDS=20 [-DLAUNCHER=ccache] -P run_fuzzers.cmake
foreach(required SOURCE BINARY CLANGXX SECONDS)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "run_fuzzers.cmake needs -D${required}=...")
  endif()
endforeach()

execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}" -G Ninja -DCMAKE_BUILD_TYPE=Release
          "-DCMAKE_CXX_COMPILER=${CLANGXX}" "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}"
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configuring the fuzzers failed:\n${output}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY}" -j2
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "building the fuzzers failed:\n${output}")
endif()

set(seeds "${SOURCE}/../../data/importers/fuzz")
foreach(fuzzer fuzz_office_xml fuzz_mime fuzz_chunker)
  set(corpus "${BINARY}/corpus/${fuzzer}")
  file(MAKE_DIRECTORY "${corpus}")
  execute_process(
    COMMAND "${BINARY}/${fuzzer}" -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -max_len=65536
            -print_final_stats=1 "${corpus}" "${seeds}/${fuzzer}"
    WORKING_DIRECTORY "${BINARY}"
    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" runs "${output}")
  message(STATUS "${fuzzer}: ${runs}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${fuzzer} found a failure (the input is saved in ${BINARY}):\n${output}")
  endif()
endforeach()
