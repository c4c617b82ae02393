# bench_proto: protocol ops with three local parties (seconds, bytes/elem/party, rounds).
caracal_bench(bench_proto SOURCES ${CMAKE_CURRENT_LIST_DIR}/bench_proto.cpp LIBS caracal_proto)
