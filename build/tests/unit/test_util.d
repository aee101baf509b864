build/tests/unit/test_util.o: tests/unit/test_util.c common/buf.h \
 common/util.h common/hash.h tests/unit/t.h common/timeutil.h \
 common/util.h
common/buf.h:
common/util.h:
common/hash.h:
tests/unit/t.h:
common/timeutil.h:
common/util.h:
