build/common/fsutil.o: common/fsutil.c common/fsutil.h common/buf.h \
 common/util.h
common/fsutil.h:
common/buf.h:
common/util.h:
