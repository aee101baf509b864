build/capture/evcapd_main.o: capture/evcapd_main.c
