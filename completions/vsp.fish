# fish completion for vsp; goes in a directory of $fish_complete_path.
# Relays to `vsp __complete`, so it offers exactly the subcommands and
# flags of the vsp it runs, and rule names and task IDs where a flag
# takes them.

function __fish_vsp_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l vsp $tokens[1]
    set -e tokens[1]
    set -l reply (command $vsp __complete -- $tokens "$current" 2>/dev/null)
    or return
    switch "$reply[1]"
        case files
            __fish_complete_path "$current"
        case directories
            __fish_complete_directories "$current"
        case words
            printf '%s\n' $reply[2..-1]
    end
end

complete -c vsp -f -a '(__fish_vsp_complete)'
