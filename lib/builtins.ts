// Realm-independent type tests: values made by structuredClone, vm contexts or jest's sandbox have
// other Date/Map/Object.prototype objects, and must still be recognised as what they are.
const toTag = Object.prototype.toString;

/** True for `{...}` literals and `Object.create(null)` objects, from any realm. */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  return Object.getPrototypeOf(proto) === null && toTag.call(value) === '[object Object]' && 'hasOwnProperty' in proto;
}

/** The built-in type of an object (`'Date'`, `'Map'`, `'Set'`, `'RegExp'`, `'ArrayBuffer'`, ...), from any realm. */
export function builtinTag(value: object): string {
  return toTag.call(value).slice(8, -1);
}
