# llama7b_token: the client — secure LLaMA inference on three parties.
add_executable(llama7b_token ${CMAKE_CURRENT_LIST_DIR}/llama7b_token.c
                             ${CMAKE_CURRENT_LIST_DIR}/llama7b_report.c)
target_link_libraries(llama7b_token PRIVATE caracal_cli_num caracal_job caracal_import caracal_tokenizer PkgConfig::JSONC)

install(TARGETS llama7b_token RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
