build/cli/evcap.o: cli/evcap.c
