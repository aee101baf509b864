build/common/timeutil.o: common/timeutil.c common/timeutil.h \
 common/util.h
common/timeutil.h:
common/util.h:
