# bench_loader: streaming a multi-GB share bundle layer by layer (peak RSS,
# GB/s) against a plain sequential read() of the same file.
caracal_bench(bench_loader SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_loader.cpp LIBS caracal_bundle)
# make_hf_checkpoint: a LLaMA-7B-shaped f16 Hugging Face checkpoint (with the
# tests' independent safetensors writer) to time caracal-share --checkpoint.
add_executable(make_hf_checkpoint ${CMAKE_CURRENT_LIST_DIR}/make_hf_checkpoint.c
               ${PROJECT_SOURCE_DIR}/tests/import/test_checkpoint_writer.c)
target_include_directories(make_hf_checkpoint PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(make_hf_checkpoint PRIVATE m)
