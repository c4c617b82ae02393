# bench_loader: streaming a multi-GB share bundle layer by layer (peak RSS,
# GB/s) against a plain sequential read() of the same file.
caracal_bench(bench_loader SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_loader.cpp LIBS caracal_bundle)
