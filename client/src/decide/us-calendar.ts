// The built-in calendar moved to shared (the server counts trading time too); re-exported for decide/'s imports.
export { BUILTIN_CALENDAR_YEARS, builtinCalendar } from '@catalyst-signal/shared/calendar';
