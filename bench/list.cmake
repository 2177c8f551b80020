# Benchmarks (make bench): built in Release against the core library.
add_executable(bench_list bench_list.c)
target_include_directories(bench_list PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_compile_options(bench_list PRIVATE ${TS_WARN} -Wno-missing-prototypes)
target_link_libraries(bench_list PRIVATE tracestore_core)
