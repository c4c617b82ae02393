# bench_models: end-to-end secure GPT-2 base (32 tokens in, 1 out) and
# BERT-base (128 tokens) with synthetic weights, three local parties.
if(TARGET caracal_secure)
  caracal_bench(bench_models SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_models.cpp
                LIBS caracal_secure caracal_thread)
endif()
