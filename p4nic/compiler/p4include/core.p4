/*
 * core.p4 for p4nic: the declarations every P4-16 program may use without naming them.
 *
 * Written for the p4nic project. The names, parameter lists and order below follow the
 * P4-16 language specification ("P4 core library"), so that programs written for p4c
 * compile unchanged and P4Info names match.
 */
#ifndef _CORE_P4_
#define _CORE_P4_

/* Errors the parser and the runtime can raise; programs may add their own. */
error {
    NoError,               /* all good */
    PacketTooShort,        /* extract or lookahead ran past the end of the packet */
    NoMatch,               /* a select expression matched no case */
    StackOutOfBounds,      /* next/last used on a full or empty header stack */
    HeaderTooShort,        /* a varbit extract asked for more bits than it holds */
    ParserTimeout,         /* the target gave up on a parser that ran too long */
    ParserInvalidArgument  /* an argument to a parser operation made no sense */
}

/* The packet being parsed. */
extern packet_in {
    /* Fill a fixed-size header (or header-only struct) from the packet and advance. */
    void extract<T>(out T hdr);
    /* Fill a header whose varbit field takes variableFieldSizeInBits bits. */
    void extract<T>(out T variableSizeHeader,
                    in bit<32> variableFieldSizeInBits);
    /* Peek at the next bits of the packet without consuming them. */
    T lookahead<T>();
    /* Skip bits without reading them. */
    void advance(in bit<32> sizeInBits);
    /* Total length of the packet in bytes. */
    bit<32> length();
}

/* The packet being built by a deparser. */
extern packet_out {
    /* Append a header (if valid), or each field of a struct/stack in order. */
    void emit<T>(in T hdr);
}

/* In a parser: when check is false, stop parsing with the given error. */
extern void verify(in bool check, in error toSignal);

/* The action that does nothing; tables use it as their usual default. */
@noWarn("unused")
action NoAction() {}

/* The match kinds every target supports. */
match_kind {
    exact,
    ternary,
    lpm
}

/* Compile-time assertions. */
extern bool static_assert(bool check, string message);
extern bool static_assert(bool check);

#endif /* _CORE_P4_ */
