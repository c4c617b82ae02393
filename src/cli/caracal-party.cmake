# caracal-party: one compute party (serves secure inference; self-check without weights).
add_executable(caracal-party ${CMAKE_CURRENT_LIST_DIR}/caracal-party.c)
target_link_libraries(caracal-party PRIVATE caracal_cli_num caracal_model)
