build/common/hash.o: common/hash.c common/hash.h common/util.h
common/hash.h:
common/util.h:
