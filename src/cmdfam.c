/*
 * cmdfam.c: the socket command families (cmdfam.h) and the builders that
 * spell their commands.  Pure: constant tables and snprintf().
 */
#include <stdio.h>
#include <string.h>

#include "bg96d/cmdfam.h"

/* AT+QIOPEN=<ctx>,<id>,"<service>","<host>",<port>,<local_port>,<mode> */
static int
qi_open_cmd(const struct cmdfam *f, char *buf, size_t size,
    const struct cmdfam_open *o)
{
	return snprintf(buf, size, "%s=%d,%d,\"%s\",\"%s\",%d,%d,%d",
	    f->open, o->context_id, o->id, o->service, o->host, o->port,
	    o->local_port, o->access_mode);
}

const struct cmdfam cmdfam_qi = {
	.name = "TCP/IP",
	.open = "AT+QIOPEN",
	.send = "AT+QISEND",
	.read = "AT+QIRD",
	.close = "AT+QICLOSE",
	.state = "AT+QISTATE",
	.switch_mode = "AT+QISWTMD",
	.open_cmd = qi_open_cmd,
	.read_len = 0,
	.send_to = true,
	.send_query = true,
	.urc = "+QIURC:",
	.open_urc = "+QIOPEN:",
	.read_hdr = "+QIRD:",
	.send_hdr = "+QISEND:",
	.state_hdr = "+QISTATE:",
};

const struct cmdfam *const cmdfam_all[] = { &cmdfam_qi, NULL };

int
cmdfam_open(const struct cmdfam *f, char *buf, size_t size,
    const struct cmdfam_open *o)
{
	return f->open_cmd(f, buf, size, o);
}

int
cmdfam_send(const struct cmdfam *f, char *buf, size_t size, int id,
    size_t len, const char *ip, int port)
{
	if (ip == NULL)
		return snprintf(buf, size, "%s=%d,%zu", f->send, id, len);
	return snprintf(buf, size, "%s=%d,%zu,\"%s\",%d", f->send, id, len,
	    ip, port);
}

int
cmdfam_send_query(const struct cmdfam *f, char *buf, size_t size, int id)
{
	return snprintf(buf, size, "%s=%d,0", f->send, id);
}

int
cmdfam_read(const struct cmdfam *f, char *buf, size_t size, int id)
{
	if (f->read_len == 0)
		return snprintf(buf, size, "%s=%d", f->read, id);
	return snprintf(buf, size, "%s=%d,%zu", f->read, id, f->read_len);
}

int
cmdfam_close(const struct cmdfam *f, char *buf, size_t size, int id,
    int timeout_s)
{
	return snprintf(buf, size, "%s=%d,%d", f->close, id, timeout_s);
}

int
cmdfam_switch(const struct cmdfam *f, char *buf, size_t size, int id,
    int access_mode)
{
	if (f->switch_mode == NULL)
		return -1;
	return snprintf(buf, size, "%s=%d,%d", f->switch_mode, id,
	    access_mode);
}

const char *
cmdfam_after(const char *line, const char *prefix)
{
	size_t	len;

	if (prefix == NULL)
		return NULL;
	len = strlen(prefix);
	if (strncmp(line, prefix, len) != 0)
		return NULL;
	return line + len;
}

const struct cmdfam *
cmdfam_of_urc(const char *line)
{
	size_t	i;

	for (i = 0; cmdfam_all[i] != NULL; i++)
		if (cmdfam_after(line, cmdfam_all[i]->urc) != NULL ||
		    cmdfam_after(line, cmdfam_all[i]->open_urc) != NULL)
			return cmdfam_all[i];
	return NULL;
}

const struct cmdfam *
cmdfam_of_push(const char *hdr)
{
	size_t	i;

	for (i = 0; cmdfam_all[i] != NULL; i++)
		if (cmdfam_after(hdr, cmdfam_all[i]->urc) != NULL)
			return cmdfam_all[i];
	return NULL;
}
