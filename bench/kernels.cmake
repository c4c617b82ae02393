# bench_kernels: ring GEMM vs OpenBLAS DGEMM, elementwise ops, and (when the
# PRG helper's file is present) AES-CTR throughput.
set(bench_kernels_sources ${CMAKE_CURRENT_LIST_DIR}/bench_kernels.cpp)
set(bench_kernels_libs caracal_ring caracal_prg PkgConfig::OPENBLAS)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/bench_aes.cpp AND TARGET caracal_prg)
  list(APPEND bench_kernels_sources ${CMAKE_CURRENT_LIST_DIR}/bench_aes.cpp)
  list(APPEND bench_kernels_libs caracal_prg OpenMP::OpenMP_C)
endif()
caracal_bench(bench_kernels SOURCES ${bench_kernels_sources} LIBS ${bench_kernels_libs})
