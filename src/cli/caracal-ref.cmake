# caracal-ref: plaintext float32 reference forward pass (accuracy oracle).
add_executable(caracal-ref ${CMAKE_CURRENT_LIST_DIR}/caracal-ref.c)
target_link_libraries(caracal-ref PRIVATE caracal_cli_num caracal_import caracal_ref caracal_tokenizer)

install(TARGETS caracal-ref RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
