// error: 4294967296: this implementation does not support bitstrings  @ 2:11
const bit<4294967296> huge = 0;
