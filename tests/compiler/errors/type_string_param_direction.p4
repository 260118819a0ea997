// error: parameter 'message' of type string must be directionless @ 2:27
extern void say(in string message);
