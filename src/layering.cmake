# The module layering (docs/ARCHITECTURE.md): one module per folder under
# src/, each with one public header <module>.h and at most one private
# <module>_impl.h; a module may use only modules strictly below it.  Used by
# the build (caracal_module) and by the layering test (tests/layering).
set(CARACAL_LAYERS core kern thread ring prg net proto nn
                   model tokenizer import ref bundle secure job cli)

# Sets <out_var> to an error message when `module` may not depend on
# every module in the list `deps`, or to "" when it may.
function(caracal_layer_violation out_var module deps)
  list(FIND CARACAL_LAYERS ${module} my_rank)
  set(msg "")
  if(my_rank LESS 0)
    set(msg "'${module}' is not a module (src/layering.cmake lists them)")
  endif()
  foreach(dep IN LISTS deps)
    list(FIND CARACAL_LAYERS ${dep} dep_rank)
    if(msg STREQUAL "" AND (dep_rank LESS 0 OR NOT dep_rank LESS my_rank))
      set(msg "module '${module}' may not depend on '${dep}': dependencies flow downward only")
    endif()
  endforeach()
  set(${out_var} "${msg}" PARENT_SCOPE)
endfunction()
