/*
 * The Modbus device simulator behind `fieldmq sim`: a Modbus TCP and RTU
 * server on libmodbus that serves registers from a small YAML description
 * (constants, counters, sine waves, typed values in a chosen order,
 * strings), stores writes, and injects faults (delays, exception codes,
 * dropped connections, silence) for the demo and the tests.
 */
#ifndef FMQ_DRIVERS_SIM_H
#define FMQ_DRIVERS_SIM_H

#include <stdio.h>

/*
 * Runs the simulator until SIGTERM or SIGINT. argv[0] is "sim", the
 * options follow (see sim_help). Returns the exit status: 0 after
 * SIGTERM or SIGINT, 1 for a bad description or a port or device that
 * cannot be opened, 2 for bad usage. Main thread only: it installs
 * handlers for SIGTERM, SIGINT, SIGUSR1, SIGUSR2 and ignores SIGPIPE.
 */
int	 sim_main(int argc, char **argv);
/* Writes the usage text of `fieldmq sim` to f. */
void	 sim_help(FILE *f);

#endif
