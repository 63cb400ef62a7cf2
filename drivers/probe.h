/*
 * `fieldmq probe`: reads one block of registers from a device named on
 * the command line (Modbus TCP or RTU) and prints it raw, then decoded
 * as every type in every byte and word order, then as text, so that the
 * right type, order and address of a new meter can be found in one look.
 */
#ifndef FMQ_DRIVERS_PROBE_H
#define FMQ_DRIVERS_PROBE_H

#include <stdio.h>

/*
 * Runs one probe. argv[0] is "probe", the options and ADDRESS [COUNT]
 * follow (see probe_help). Returns the exit status: 0 after printing,
 * 1 when the device cannot be reached or refuses the read, 2 for bad
 * usage. Main thread only (getopt).
 */
int	 probe_main(int argc, char **argv);
/* Writes the usage text of `fieldmq probe` to f. */
void	 probe_help(FILE *f);

#endif
