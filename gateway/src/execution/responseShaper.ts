/**
 * The compiled response shaper: turns the data merged from every fetch into the answer the operation asked for
 * (aliases, `__typename`, fragments by runtime type, nulls bubbling up to the nearest nullable field, invalid leaf
 * values), with the same data and the same errors as @apollo/gateway's `computeResponse`.
 *
 * Stock walks the operation's selection sets per request and asks the schema about every field's type on the way.
 * Here each operation is walked once: its `@skip`/`@include` are resolved for one set of condition values, every
 * field's type is turned into a small function, and what depends on a runtime `__typename` is remembered per type
 * name. A request then runs only those functions over its data.
 */
import {
  baseType,
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  isValidLeafValue,
  Variable,
  type CompositeType,
  type FieldSelection,
  type NamedType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';
import { ownValue } from '../jsonValues.js';

type Path = (string | number)[];
type Data = Record<string, unknown>;

/** What one shaping of one request needs besides its data; `errors` collects what stock calls value completion errors. */
interface ShapingRun {
  /** Null when the caller will not report them (see `ResponseShaper`): none is built. */
  errors: GraphQLError[] | null;
  path: Path;
  /** Set by a value shaper: the value's subtree already reported an error (stock's `hasErrors`). */
  hasErrors: boolean;
  /** Set by a value shaper: a non-null value came out null, so its parent object becomes null (stock's `isInvalid`). */
  invalid: boolean;
}

/** Fills `output` from `input` for one selection set; false means a null must bubble up past this object. */
type SelectionShaper = (input: Data, output: Data, parentType: CompositeType, run: ShapingRun) => boolean;
/** Shapes one value of one field; `output` is what an earlier selection of the same response name produced. */
type ValueShaper = (output: unknown, input: unknown, parentType: CompositeType, run: ShapingRun) => unknown;

export interface ShapedResponse {
  data: Data | null;
  errors: GraphQLError[];
}

/**
 * `reportErrors` false: the caller will not report value completion errors (a fetch failed, and stock reports them
 * only when none did), so none is built, as each costs a GraphQLError and its stack; nulls bubble up all the same.
 */
export type ResponseShaper = (input: Data, reportErrors?: boolean) => ShapedResponse;

/** The `@skip`/`@include` variables of an operation, so callers can key one compiled shaper per set of their values. */
export function conditionVariables(operation: Operation): string[] {
  const names = new Set<string>();
  const visit = (selectionSet: SelectionSet) => {
    for (const selection of selectionSet.selections()) {
      for (const directive of selection.element.appliedDirectives) {
        if (directive.name !== 'skip' && directive.name !== 'include') continue;
        const condition = directive.arguments().if;
        if (condition instanceof Variable) names.add(condition.name);
      }
      if (selection.selectionSet) visit(selection.selectionSet);
    }
  };
  visit(operation.selectionSet);
  return [...names].sort();
}

/** True when the operation selects `__schema` or `__type`, which only stock's path answers (introspection). */
export function selectsIntrospection(operation: Operation): boolean {
  return someField(operation.selectionSet, (field) => field.definition.isSchemaIntrospectionField());
}

/** Whether any field selected at any depth (fragments included) matches. */
function someField(selectionSet: SelectionSet, matches: (field: FieldSelection['element']) => boolean): boolean {
  return selectionSet.selections().some((selection) =>
    (selection.kind === 'FieldSelection' && matches(selection.element))
    || (selection.selectionSet !== undefined && someField(selection.selectionSet, matches)));
}

/**
 * Compiles the operation for the given variable values (only those of `@skip`/`@include` matter, and the operation's
 * defaults fill the ones not given).
 */
export function compileResponseShaper(operation: Operation, variables: Record<string, unknown> | undefined): ResponseShaper {
  const shape = compileFragmentShaper(operation, operation.selectionSet, variables);
  const rootType = operation.schema().schemaDefinition.rootType(operation.rootKind)!;
  return (input, reportErrors) => shape(input, rootType, [], reportErrors);
}

/**
 * Shapes one object of the answer with one selection set of the operation (a deferred fragment's, at `path`), the
 * object being of `declaredType` or of the type its `__typename` names. A null that bubbles up to the object makes
 * the whole result null.
 */
export type FragmentShaper = (input: Data, declaredType: CompositeType, path: readonly (string | number)[], reportErrors?: boolean) => ShapedResponse;

export function compileFragmentShaper(operation: Operation, selectionSet: SelectionSet, variables: Record<string, unknown> | undefined): FragmentShaper {
  const values: Record<string, unknown> = { __proto__: null, ...operation.collectDefaultedVariableValues(), ...variables };
  const compiler = new ShaperCompiler(operation.schema(), values, respondsWithPrototypeKey(operation) ? nullPrototypeObject : plainObject);
  const shapeSelections = compiler.selectionSet(selectionSet);
  return (input, declaredType, path, reportErrors = true) => {
    const run: ShapingRun = { errors: reportErrors ? [] : null, path: [...path], hasErrors: false, invalid: false };
    const typename = input.__typename;
    const runtimeType = typeof typename === 'string' ? compiler.typeNamed(typename) : undefined;
    // As a composite value is shaped: a type name the schema does not have (or not a composite) nulls the object.
    if (typeof typename === 'string' && !(runtimeType && isCompositeType(runtimeType))) {
      return { data: null, errors: reportErrors ? [ERRORS.INVALID_GRAPHQL.err(`Invalid __typename found for object at ${path.join('.')}.`, { path: [...path] })] : [] };
    }
    const data = compiler.newObject();
    const ok = shapeSelections(input, data, (runtimeType as CompositeType | undefined) ?? declaredType, run);
    return { data: ok ? data : null, errors: run.errors ?? [] };
  };
}

/**
 * The declared type of the field at `queryPath` (response names, lists left implicit) of the operation, found
 * through its fragments; undefined when no such composite field is selected.
 */
export function typeAtQueryPath(operation: Operation, queryPath: readonly string[]): CompositeType | undefined {
  let type: CompositeType = operation.schema().schemaDefinition.rootType(operation.rootKind)!;
  let selectionSets = [operation.selectionSet];
  for (const responseName of queryPath) {
    const found = selectionSets.flatMap((set) => fieldsNamed(set, responseName));
    const declared = found[0]?.element.definition.type;
    const base = declared && baseType(declared);
    if (!base || !isCompositeType(base)) return undefined;
    type = base;
    selectionSets = found.flatMap((field) => (field.selectionSet ? [field.selectionSet] : []));
  }
  return type;
}

function fieldsNamed(selectionSet: SelectionSet, responseName: string): FieldSelection[] {
  return selectionSet.selections().flatMap((selection) => {
    if (selection.kind === 'FieldSelection') return selection.element.responseName() === responseName ? [selection] : [];
    return selection.selectionSet ? fieldsNamed(selection.selectionSet, responseName) : [];
  });
}

class ShaperCompiler {
  /** Runtime type name to its type in the schema; asked once per name. */
  private readonly typesByName = new Map<string, NamedType | undefined>();

  constructor(
    private readonly schema: Schema,
    private readonly variables: Record<string, unknown>,
    readonly newObject: () => Data,
  ) {}

  typeNamed(name: string): NamedType | undefined {
    if (!this.typesByName.has(name)) this.typesByName.set(name, this.schema.type(name));
    return this.typesByName.get(name);
  }

  selectionSet(selectionSet: SelectionSet): SelectionShaper {
    const steps: SelectionShaper[] = [];
    for (const selection of selectionSet.selections()) {
      if (this.skipped(selection.element)) continue;
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        const responseName = field.responseName();
        if (field.name === '__typename') steps.push(this.typename(responseName));
        else steps.push(this.field(responseName, this.value(field.definition.type!, selection.selectionSet)));
      } else {
        steps.push(this.fragment(selection.element.typeCondition, this.selectionSet(selection.selectionSet)));
      }
    }
    return (input, output, parentType, run) => {
      for (let i = 0; i < steps.length; i++) if (!steps[i]!(input, output, parentType, run)) return false;
      return true;
    };
  }

  private skipped(element: { appliedDirectives: readonly { name: string; arguments(): Record<string, unknown> }[] }): boolean {
    let skip = false;
    let include = true;
    for (const directive of element.appliedDirectives) {
      if (directive.name === 'skip') skip = this.conditionValue(directive.arguments().if);
      else if (directive.name === 'include') include = this.conditionValue(directive.arguments().if);
    }
    return skip || !include;
  }

  private conditionValue(condition: unknown): boolean {
    if (!(condition instanceof Variable)) return condition as boolean;
    const value = this.variables[condition.name];
    // Stock asserts the same; Apollo Server's variable coercion has already refused anything else.
    if (typeof value !== 'boolean') throw new Error(`Unexpected value ${String(value)} for variable ${condition} of @skip/@include`);
    return value;
  }

  private typename(responseName: string): SelectionShaper {
    const aliased = responseName !== '__typename';
    return (input, output, parentType, _run) => {
      if (output[responseName] !== undefined) return true;
      let value = ownValue(input, responseName) ?? null;
      if (value === null && aliased) value = input.__typename ?? null;
      const type = typeof value === 'string' ? this.typeNamed(value) ?? parentType : parentType;
      if (!isObjectType(type)) return false;
      output[responseName] = type.name;
      return true;
    };
  }

  private field(responseName: string, shapeValue: ValueShaper): SelectionShaper {
    return (input, output, parentType, run) => {
      run.path.push(responseName);
      run.invalid = false;
      run.hasErrors = false;
      output[responseName] = shapeValue(output[responseName], ownValue(input, responseName) ?? null, parentType, run);
      run.path.pop();
      return !run.invalid;
    };
  }

  private fragment(typeCondition: CompositeType | undefined, shapeSelections: SelectionShaper): SelectionShaper {
    if (!typeCondition) return shapeSelections;
    const appliesTo = new Map<string, boolean>();
    const applies = (typename: string | undefined, parentType: CompositeType): boolean => {
      const key = typename || `\0${parentType.name}`;
      let result = appliesTo.get(key);
      if (result === undefined) {
        const type = typename ? this.typeNamed(typename) : parentType;
        result = !!type && isSubtype(typeCondition, type as Type);
        appliesTo.set(key, result);
      }
      return result;
    };
    return (input, output, parentType, run) => {
      const typename = input.__typename;
      if (typename && typeof typename !== 'string') throw new Error(`Got unexpected value for __typename: ${String(typename)}`);
      if (!applies(typename as string | undefined, parentType)) return true;
      return shapeSelections(input, output, typeCondition, run);
    };
  }

  /** A value shaper for one field type; `selectionSet` is the field's (undefined for leaves), shared by list items. */
  value(type: Type, selectionSet: SelectionSet | undefined): ValueShaper {
    const selected = selectionSet !== undefined;
    const inner = this.valueOfType(type, selectionSet);
    return (output, input, parentType, run) => {
      // Another selection of the same response name already completed this value: stock keeps it as it is.
      if (output === null || (output !== undefined && !selected)) return output;
      return inner(output, input, parentType, run);
    };
  }

  private valueOfType(type: Type, selectionSet: SelectionSet | undefined): ValueShaper {
    if (isNonNullType(type)) return this.nonNull(type.ofType, this.value(type.ofType, selectionSet));
    if (isListType(type)) return this.list(type.ofType, this.value(type.ofType, selectionSet));
    if (isCompositeType(type)) return this.composite(type, this.selectionSet(selectionSet!));
    return this.leaf(type);
  }

  private nonNull(innerType: Type, shapeInner: ValueShaper): ValueShaper {
    return (output, input, parentType, run) => {
      const value = shapeInner(output, input, parentType, run);
      if (value !== null) {
        // Stock drops the inner value's flags when it is not null.
        run.invalid = false;
        run.hasErrors = false;
        return value;
      }
      if (!run.hasErrors) {
        run.errors?.push(ERRORS.INVALID_GRAPHQL.err(
          `Cannot return null for non-nullable ${describeLast(run.path, innerType, parentType)}.`, { path: Array.from(run.path) }));
      }
      run.invalid = true;
      run.hasErrors = true;
      return null;
    };
  }

  private list(itemType: Type, shapeItem: ValueShaper): ValueShaper {
    return (output, input, parentType, run) => {
      run.invalid = false;
      run.hasErrors = false;
      if (input === null) return null;
      if (!Array.isArray(input)) throw new Error(`Invalid non-list value ${String(input)} returned by subgraph for list type [${itemType}]`);
      if (output !== undefined && (!Array.isArray(output) || output.length !== input.length)) {
        throw new Error(`Invalid value ${String(output)} merged for list type [${itemType}]`);
      }
      const earlier = output as unknown[] | undefined;
      const items = new Array<unknown>(input.length);
      let nullify = false;
      let hasErrors = false;
      for (let i = 0; i < input.length; i++) {
        run.path.push(i);
        run.invalid = false;
        run.hasErrors = false;
        items[i] = shapeItem(earlier === undefined ? undefined : earlier[i], input[i] ?? null, parentType, run);
        run.path.pop();
        nullify ||= run.invalid;
        hasErrors ||= run.hasErrors;
      }
      run.invalid = false;
      run.hasErrors = hasErrors;
      return nullify ? null : items;
    };
  }

  private composite(declared: CompositeType, shapeSelections: SelectionShaper): ValueShaper {
    return (output, input, parentType, run) => {
      run.invalid = false;
      run.hasErrors = false;
      if (input === null) return null;
      if (typeof input !== 'object') throw new Error(`Invalid non-object value ${String(input)} returned by subgraph for composite type ${declared}`);
      const typename = (input as Data).__typename;
      if (typename !== undefined && typeof typename !== 'string') throw new Error(`Invalid non-string value ${String(typename)} for __typename at ${run.path}`);
      let objectType: CompositeType = declared;
      if (typename) {
        const type = this.typeNamed(typename);
        if (!type || !isCompositeType(type)) {
          run.errors?.push(ERRORS.INVALID_GRAPHQL.err(
            `Invalid __typename found for object at ${describeLast(run.path, declared, parentType)}.`, { path: Array.from(run.path) }));
          run.hasErrors = true;
          return null;
        }
        objectType = type;
      }
      const target = (output === undefined ? this.newObject() : output) as Data;
      const ok = shapeSelections(input as Data, target, objectType, run);
      run.invalid = false;
      run.hasErrors = !ok;
      return ok ? target : null;
    };
  }

  private leaf(type: Type): ValueShaper {
    const valid = leafValidator(this.schema, type);
    return (_output, input, parentType, run) => {
      run.invalid = false;
      run.hasErrors = false;
      if (input === null) return null;
      if (valid(input)) return input;
      run.errors?.push(ERRORS.INVALID_GRAPHQL.err(
        `Invalid value found for ${describeLast(run.path, type, parentType)}.`, { path: Array.from(run.path) }));
      run.hasErrors = true;
      return null;
    };
  }
}

/** Stock's `isValidLeafValue`, with its answer for the common case (a string of a string-like type) decided once. */
function leafValidator(schema: Schema, type: Type): (value: unknown) => boolean {
  if (isCustomScalarType(type)) return () => true;
  if (isEnumType(type)) return (value) => typeof value === 'string' ? type.value(value) !== undefined : isValidLeafValue(schema, value, type);
  const takesStrings = type !== schema.booleanType() && type !== schema.intType() && type !== schema.floatType();
  return (value) => (typeof value === 'string' ? takesStrings : isValidLeafValue(schema, value, type as Parameters<typeof isValidLeafValue>[2]));
}

/**
 * Answers are built of plain objects, which V8 keeps in fast mode (stock's null-prototype objects are hash maps,
 * slower to fill and to serialize). An operation answering under a name `Object.prototype` has (`constructor`,
 * `toString`, `__proto__`...: possible as field names or aliases) gets null-prototype objects, so such a name is
 * never read from the prototype nor written to it.
 */
const plainObject = (): Data => ({});
const nullPrototypeObject = (): Data => Object.create(null);

function respondsWithPrototypeKey(operation: Operation): boolean {
  return someField(operation.selectionSet, (field) => field.responseName() in Object.prototype);
}

function describeLast(path: Path, currentType: Type, parentType: CompositeType): string {
  const last = path[path.length - 1];
  return typeof last === 'string' ? `field ${parentType}.${last}` : `array element of type ${currentType} at index ${last}`;
}
