/* libFuzzer target: the configuration loader on arbitrary bytes. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_errors	 errs = { 0 };
	struct fmq_config	*cfg;

	cfg = config_load_buffer("fuzz.yaml", (const char *)data, size, &errs);
	/* Either a config or at least one error, never both, never neither. */
	if ((cfg == NULL) == (errs.n == 0))
		__builtin_trap();
	config_free(cfg);
	cfg_errors_free(&errs);
	return 0;
}
