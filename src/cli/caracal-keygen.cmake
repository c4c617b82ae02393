# caracal-keygen: static X25519 key pairs and local cluster configs.
add_executable(caracal-keygen ${CMAKE_CURRENT_LIST_DIR}/caracal-keygen.c)
target_link_libraries(caracal-keygen PRIVATE caracal_cli_num caracal_net)

install(TARGETS caracal-keygen RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
