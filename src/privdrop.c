/*
 * privdrop.c: give up root for good once the socket files are bound
 * ([daemon] user, DESIGN.md section 3), the way OpenBSD's dhcpleased
 * engine does: initgroups, setresgid, setresuid, then check that the
 * switch cannot be undone.
 *
 * The serial line is opened after this (and reopened after an unplug),
 * always with the new user's groups: initgroups() keeps its supplementary
 * groups, dialout in particular.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bg96d/privdrop.h"

static void	pd_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
pd_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

/*
 * The group a file we created as root gets: the user's group if the file
 * still has ours (no socket_group was given), else unchanged: a file that
 * got socket_group keeps it, since the group is how applications get
 * access.
 */
static gid_t
pd_group(const struct stat *st, gid_t gid)
{
	return st->st_gid == getegid() ? gid : (gid_t)-1;
}

/*
 * Hand socket_dir and the socket files in it to the user, so that it can
 * create (SIGHUP: new endpoints) and remove (exit) socket files.  Only
 * sockets we own are touched.  A shared directory (sticky or writable by
 * all, /tmp say) is not given away: the user can still make files in it.
 */
static int
pd_chown_dir(const char *dir, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		pd_err(err, errlen, "socket_dir %s: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((st.st_mode & (S_ISVTX | S_IWOTH)) == 0 && st.st_uid == geteuid() &&
	    fchown(fd, uid, pd_group(&st, gid)) == -1) {
		pd_err(err, errlen, "socket_dir %s: chown: %s", dir,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* fdopendir() takes fd over; closedir() closes it. */
	if ((d = fdopendir(fd)) == NULL) {
		pd_err(err, errlen, "socket_dir %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_type != DT_SOCK && de->d_type != DT_UNKNOWN)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			break;
		}
		if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (fchownat(fd, de->d_name, uid, pd_group(&st, gid),
		    AT_SYMLINK_NOFOLLOW) == -1)
			break;
	}
	if (errno != 0) {
		pd_err(err, errlen, "socket_dir %s%s%s: %s", dir,
		    de != NULL ? "/" : "", de != NULL ? de->d_name : "",
		    strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

/* Fail unless every uid is uid, every gid is gid, and root is out of reach. */
static int
pd_verify(const char *user, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		pd_err(err, errlen, "getresuid: %s", strerror(errno));
		return -1;
	}
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		pd_err(err, errlen, "user %s: uids %u/%u/%u, gids %u/%u/%u "
		    "after the switch", user, (unsigned)ru, (unsigned)eu,
		    (unsigned)su, (unsigned)rg, (unsigned)eg, (unsigned)sg);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 ||
	    (gid != 0 && (setgid(0) != -1 || setegid(0) != -1)) ||
	    setgroups(0, NULL) != -1) {
		pd_err(err, errlen, "user %s: root could be regained", user);
		return -1;
	}
	return 0;
}

int
privdrop(const char *user, const char *socket_dir, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	uid_t		 uid;
	gid_t		 gid;

	if (user == NULL || user[0] == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0)
			pd_err(err, errlen, "user %s: %s", user,
			    strerror(errno));
		else
			pd_err(err, errlen, "user %s: no such user", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
			return 0;
		pd_err(err, errlen, "user %s: cannot switch to it: not "
		    "started as root (running as uid %u)", user,
		    (unsigned)geteuid());
		return -1;
	}
	if (pw->pw_uid == 0)
		return 0;		/* root asked to stay root */
	/* pw is static storage that initgroups() may reuse. */
	uid = pw->pw_uid;
	gid = pw->pw_gid;

	if (socket_dir != NULL && socket_dir[0] != '\0' &&
	    pd_chown_dir(socket_dir, uid, gid, err, errlen) == -1)
		return -1;
	if (initgroups(user, gid) == -1) {
		pd_err(err, errlen, "user %s: initgroups: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		pd_err(err, errlen, "user %s: setresgid(%u): %s", user,
		    (unsigned)gid, strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		pd_err(err, errlen, "user %s: setresuid(%u): %s", user,
		    (unsigned)uid, strerror(errno));
		return -1;
	}
	return pd_verify(user, uid, gid, err, errlen);
}
