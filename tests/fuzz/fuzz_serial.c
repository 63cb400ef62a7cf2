/* libFuzzer target: serial-line patterns and lines (first line: the pattern). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
sink(const char *name, const struct drv_value *v, void *arg)
{
	char buf[600];

	if (name == NULL || drv_value_json(v, buf, sizeof(buf)) == 0)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*text = malloc(size + 1), *nl, *line;
	struct sline_pattern	 p;
	char			 why[256];

	memcpy(text, data, size);
	text[size] = '\0';
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		if (sline_pattern_compile(&p, text, why, sizeof(why)) == 0) {
			for (line = nl + 1; line != NULL;) {
				char *next = strchr(line, '\n');

				if (next != NULL)
					*next++ = '\0';
				sline_match(&p, line, sink, NULL);
				line = next;
			}
			sline_pattern_free(&p);
		}
	}
	free(text);
	return 0;
}
