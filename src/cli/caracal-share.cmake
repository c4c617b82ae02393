# caracal-share: the model owner's converter to seed-compressed share bundles.
add_executable(caracal-share ${CMAKE_CURRENT_LIST_DIR}/caracal-share.c)
target_link_libraries(caracal-share PRIVATE caracal_cli_num caracal_import caracal_bundle)

install(TARGETS caracal-share RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
