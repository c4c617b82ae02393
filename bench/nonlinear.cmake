# bench_nonlinear: PUMA/LLaMA nonlinear functions with three local parties
# (seconds, bytes/elem/party, rounds, max error vs libm) for both sets.
if(TARGET caracal_nn)
  caracal_bench(bench_nonlinear SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_nonlinear.cpp
                LIBS caracal_nn caracal_thread m)
endif()
